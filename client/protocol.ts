/**
 * The protocol, re-exported from the server's own type files (type-only: no
 * server code reaches a bundle). One place for the protocol: never redeclare
 * a message shape here.
 */
export type {
  AssetUpdateData,
  AssetUpdatesData,
  ConnectionData,
  ErrorData,
  MarketState,
  OptionsData,
  PongData,
  PortfolioPointData,
  PortfolioPositionData,
  PortfolioSeriesData,
  PortfolioSeriesPoint,
  PortfolioUpdateData,
  ServerLimits,
  ServerMessage,
  ServerMessageMap,
  ServerMessageType,
  StatusData,
  SubscriptionChangeData,
  SubscriptionListData,
  SubscriptionsData,
} from '../src/realtime/protocol/server-messages';
export type {
  AssetSelection,
  ClientMessage,
  ClientMessageMap,
  ClientMessageType,
  ConnectionOptions,
  MessageId,
  PortfolioSelection,
  PortfolioSeriesRange,
  PortfolioSubscription,
} from '../src/realtime/protocol/client-messages';
export type { CloseCode, ErrorCode, RefusalCode } from '../src/realtime/protocol/error-codes';

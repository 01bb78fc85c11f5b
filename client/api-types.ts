/**
 * The REST API's response bodies, re-exported from the server's own type file
 * (type-only: no server code reaches a bundle). One place for them: never
 * redeclare a response shape here or in the pages.
 */
export type {
  AssetHistoryJson,
  AssetJson,
  AssetPage,
  DecimalString,
  ErrorResponse,
  FeedHeartbeat,
  FeedRole,
  ForceUpdateItem,
  ForceUpdateResponse,
  ForceUpdateStatus,
  GlobalStats,
  HealthLiveJson,
  HistoryPointJson,
  InstanceSummary,
  IsoDateTime,
  LogoutJson,
  AllocationSliceJson,
  PerformanceRange,
  PortfolioHistory,
  PortfolioHistoryPoint,
  PortfolioIntradayPoint,
  PortfolioJson,
  PortfolioList,
  PortfolioPerformance,
  PositionJson,
  PositionList,
  PriceFeedStatusSnapshot,
  RealtimeHealthJson,
  RealtimeStatus,
  RealtimeUserStats,
  UserJson,
  WebSocketInfo,
} from '../src/common/api-types';

/**
 * The specification guide's JavaScript clients, copied VERBATIM from
 * docs/spec/realtime-guide.txt ("Basic WebSocket Client" and the React hook of
 * "Advanced Usage with React/Vue"). The e2e tests evaluate this text unchanged,
 * with the `ws` package as the global WebSocket, so the server is held to the
 * guide's client contract; realtime-guide-client.e2e-spec.ts checks the text
 * still matches the guide.
 */
export const GUIDE_SIMPLE_WEBSOCKET_CLIENT = String.raw`class SimpleWebSocketClient {
    constructor(url) {
        this.url = url;
        this.socket = null;
    }
    
    connect() {
        this.socket = new WebSocket(this.url);
        
        this.socket.onopen = (event) => {
            console.log('Connected to WebSocket');
            this.sendMessage('ping', {});
        };
        
        this.socket.onmessage = (event) => {
            const message = JSON.parse(event.data);
            this.handleMessage(message);
        };
        
        this.socket.onclose = (event) => {
            console.log('WebSocket connection closed');
        };
    }
    
    sendMessage(type, data) {
        const message = {
            type: type,
            data: data,
            timestamp: new Date().toISOString()
        };
        this.socket.send(JSON.stringify(message));
    }
    
    handleMessage(message) {
        switch(message.type) {
            case 'asset_update':
                this.updateAssetPrice(message.data);
                break;
            case 'portfolio_update':
                this.updatePortfolioValue(message.data);
                break;
            default:
                console.log('Received:', message);
        }
    }
    
    subscribeToAsset(symbol) {
        this.sendMessage('subscribe_asset', { symbol: symbol });
    }
    
    subscribeToPortfolio(portfolioId) {
        this.sendMessage('subscribe_portfolio', { portfolio_id: portfolioId });
    }
}
`;

export const GUIDE_USE_WEBSOCKET_HOOK = String.raw`function useWebSocket(url) {
    const [isConnected, setIsConnected] = useState(false);
    const [messages, setMessages] = useState([]);
    const socket = useRef(null);
    
    useEffect(() => {
        socket.current = new WebSocket(url);
        
        socket.current.onopen = () => setIsConnected(true);
        socket.current.onclose = () => setIsConnected(false);
        socket.current.onmessage = (event) => {
            const message = JSON.parse(event.data);
            setMessages(prev => [...prev, message]);
        };
        
        return () => socket.current.close();
    }, [url]);
    
    const sendMessage = (type, data) => {
        if (socket.current && socket.current.readyState === WebSocket.OPEN) {
            const message = { type, data, timestamp: new Date().toISOString() };
            socket.current.send(JSON.stringify(message));
        }
    };
    
    return { isConnected, messages, sendMessage };
}
`;

/** The guide, kept in the repository (its original is the project's shared specification, SHARED_GUIDE_PATH). */
export const GUIDE_PATH = 'docs/spec/realtime-guide.txt';
/** Where the original lives next to a checkout in the team's workspace (absent elsewhere). */
export const SHARED_GUIDE_PATH = '../shared/seed/000_5c0cde92db0b0631.txt';

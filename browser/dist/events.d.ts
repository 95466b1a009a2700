type Listener = (...args: any[]) => void;
export declare class Emitter<Events extends {
    [K in keyof Events]: Listener;
}> {
    private readonly listeners;
    /** Calls `listener` on each `event`; returns what stops it. */
    on<K extends keyof Events>(event: K, listener: Events[K]): () => void;
    protected emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void;
}
export {};

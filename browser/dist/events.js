// A small typed event emitter: `on` returns the function that removes the listener.
export class Emitter {
    constructor() {
        this.listeners = new Map();
    }
    /** Calls `listener` on each `event`; returns what stops it. */
    on(event, listener) {
        let set = this.listeners.get(event);
        if (!set)
            this.listeners.set(event, (set = new Set()));
        set.add(listener);
        return () => set.delete(listener);
    }
    emit(event, ...args) {
        for (const listener of [...(this.listeners.get(event) ?? [])]) {
            // A listener's mistake is the page's, not the room's: it must not stop the others.
            try {
                listener(...args);
            }
            catch (e) {
                queueMicrotask(() => {
                    throw e;
                });
            }
        }
    }
}

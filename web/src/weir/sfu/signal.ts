// The SFU signaling WebSocket (docs/protocol.md): JSON requests out, JSON events in, health checks.

import { Emitter } from "../store";
import type { SfuEvent, SfuRequest } from "./protocol.gen";

const HEALTH_CHECK_MS = 10_000;

export class SignalChannel {
  readonly events = new Emitter<SfuEvent>();
  /** Called when the socket closes without `close()` (the connection decides how to reconnect). */
  onLost: (reason: string) => void = () => {};
  private ws: WebSocket | null = null;
  private requestId = 0;
  private timer = 0;

  open(url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      this.ws = ws;
      ws.onopen = () => {
        this.timer = window.setInterval(() => this.send({ type: "health_check" }), HEALTH_CHECK_MS);
        resolve();
      };
      ws.onerror = () => reject(new Error("the SFU is unreachable"));
      ws.onmessage = (message) => this.events.emit(JSON.parse(String(message.data)) as SfuEvent);
      ws.onclose = (event) => {
        window.clearInterval(this.timer);
        if (this.ws === ws) {
          this.ws = null;
          this.onLost(event.reason || `closed (${event.code})`);
        }
      };
    });
  }

  /** Sends a request; returns its request_id (an error the request causes echoes it). */
  send(request: SfuRequest): string {
    const id = String(++this.requestId);
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ ...request, request_id: id }));
    return id;
  }

  /** The next event of `type` (rejects on an error event answering `requestId`, or after `timeoutMs`). */
  next<T extends SfuEvent>(type: T["type"], requestId?: string, timeoutMs = 15_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const stops: Array<() => void> = [];
      const done = () => {
        window.clearTimeout(timer);
        stops.forEach((stop) => stop());
      };
      const timer = window.setTimeout(() => {
        done();
        reject(new Error(`no ${type} from the SFU in time`));
      }, timeoutMs);
      stops.push(
        this.events.on(type, (event) => {
          done();
          resolve(event as T);
        }),
        this.events.on("error", (event) => {
          if (event.type !== "error" || (requestId && event.request_id !== requestId)) return;
          done();
          reject(new Error(event.error.message));
        }),
      );
    });
  }

  close(): void {
    const ws = this.ws;
    this.ws = null;
    window.clearInterval(this.timer);
    ws?.close();
  }
}

// The coordinator WebSocket: authenticate, answer health checks, deliver events, reconnect with backoff.

import { API_PREFIX, type Credentials } from "./api";
import { backoffMs } from "./backoff";
import { Emitter, Store } from "./store";
import type { User, WeirEvent } from "./types";

export type SocketStatus = "connecting" | "connected" | "reconnecting" | "closed";

const HEALTH_CHECK_MS = 10_000;

export class CoordinatorSocket {
  readonly events = new Emitter<WeirEvent>();
  readonly status = new Store<SocketStatus>("connecting");
  connectionId = "";
  private ws: WebSocket | null = null;
  private attempt = 0;
  private healthTimer = 0;
  private closing = false;

  constructor(
    private readonly baseUrl: string,
    private readonly credentials: Credentials,
    readonly details: Partial<User>,
  ) {}

  /** Resolves on `connection.ok` (with `me`), rejects on `connection.error`. */
  connect(): Promise<User> {
    this.closing = false;
    return new Promise((resolve, reject) => {
      const url = new URL(`${this.baseUrl}${API_PREFIX}/connect`, location.href);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      url.searchParams.set("api_key", this.credentials.apiKey);
      const ws = new WebSocket(url);
      this.ws = ws;
      let opened = false;
      ws.onopen = () => {
        ws.send(
          JSON.stringify({
            token: this.credentials.token,
            user_details: { id: this.credentials.userId, ...this.details },
          }),
        );
      };
      ws.onmessage = (message) => {
        const event = JSON.parse(String(message.data)) as WeirEvent;
        if (event.type === "connection.ok") {
          opened = true;
          this.attempt = 0;
          this.connectionId = event.connection_id ?? "";
          this.status.set("connected");
          this.startHealthChecks();
          resolve(event.me as User);
        } else if (event.type === "connection.error") {
          reject(new Error(event.error?.message ?? "connection refused"));
        }
        this.events.emit(event);
      };
      ws.onclose = () => {
        window.clearInterval(this.healthTimer);
        if (!opened) reject(new Error("the coordinator closed the connection"));
        if (!this.closing && opened && this.ws === ws) this.reconnect();
      };
    });
  }

  private startHealthChecks(): void {
    window.clearInterval(this.healthTimer);
    this.healthTimer = window.setInterval(() => this.send({ type: "health.check" }), HEALTH_CHECK_MS);
  }

  private send(message: object): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  private reconnect(): void {
    this.status.set("reconnecting");
    window.setTimeout(() => {
      if (this.closing) return;
      this.connect().then(
        () => this.events.emit({ type: "connection.recovered", created_at: new Date().toISOString() }),
        () => this.reconnect(),
      );
    }, backoffMs(++this.attempt));
  }

  /** Authenticate again on a fresh socket (e.g. after `details` changed). */
  restart(): Promise<User> {
    const old = this.ws;
    this.ws = null;
    old?.close();
    return this.connect();
  }

  close(): void {
    this.closing = true;
    window.clearInterval(this.healthTimer);
    this.status.set("closed");
    this.ws?.close();
  }
}

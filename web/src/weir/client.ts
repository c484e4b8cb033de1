// The signed-in user's connection to Weir: REST, the coordinator WebSocket, and ringing state.

import { CoordinatorApi, type Credentials } from "./api";
import { Call, type CallPreferences, DEFAULT_PREFERENCES } from "./call";
import { CoordinatorSocket } from "./socket";
import { Store } from "./store";
import type { CallResponse, User, WeirEvent } from "./types";

export interface IncomingCall {
  cid: string;
  call: CallResponse;
  caller: User;
  video: boolean;
}

export interface MissedCall {
  cid: string;
  caller: User;
  at: string;
}

export interface RingingView {
  incoming: IncomingCall | null;
  missed: MissedCall[];
}

export class WeirClient {
  readonly api: CoordinatorApi;
  readonly socket: CoordinatorSocket;
  readonly ringing = new Store<RingingView>({ incoming: null, missed: [] });
  me: User | null = null;
  preferences: CallPreferences = DEFAULT_PREFERENCES;

  constructor(
    readonly baseUrl: string,
    readonly credentials: Credentials,
    details: Partial<User> = {},
  ) {
    this.api = new CoordinatorApi(baseUrl, credentials);
    this.socket = new CoordinatorSocket(baseUrl, credentials, details);
    this.socket.events.on("call.ring", (event) => this.onRing(event));
    this.socket.events.on("call.missed", (event) => this.onMissed(event));
    for (const type of ["call.rejected", "call.ended", "call.accepted", "call.session_participant_joined"]) {
      this.socket.events.on(type, (event) => this.onRingAnswered(event));
    }
  }

  get userId(): string {
    return this.credentials.userId;
  }

  async connect(): Promise<User> {
    this.me = await this.socket.connect();
    return this.me;
  }

  /** A new display name: the coordinator upserts it from the WebSocket's user details. */
  async rename(name: string): Promise<void> {
    this.socket.details.name = name;
    this.me = await this.socket.restart();
  }

  call(type: string, id: string): Call {
    return new Call(`${type}:${id}`, this.userId, this.api, this.socket, this.preferences);
  }

  dismissIncoming(): void {
    this.ringing.update((r) => ({ ...r, incoming: null }));
  }

  private onRing(event: WeirEvent): void {
    const call = event.call!;
    this.ringing.update((r) => ({
      ...r,
      incoming: { cid: call.cid, call, caller: event.user!, video: Boolean(event.video) },
    }));
  }

  /** The caller cancelled, someone else answered for this user, or the call ended: stop ringing here. */
  private onRingAnswered(event: WeirEvent): void {
    const incoming = this.ringing.get().incoming;
    if (!incoming || incoming.cid !== event.call_cid) return;
    const byCaller = event.type === "call.rejected" && event.user?.id === incoming.caller.id;
    const byMe = event.user?.id === this.userId || event.participant?.user.id === this.userId;
    if (event.type === "call.ended" || byCaller || byMe) this.dismissIncoming();
  }

  private onMissed(event: WeirEvent): void {
    const missed = { cid: event.call_cid ?? "", caller: event.user!, at: event.created_at };
    this.ringing.update((r) => ({
      incoming: r.incoming?.cid === missed.cid ? null : r.incoming,
      missed: [missed, ...r.missed.filter((m) => m.cid !== missed.cid)],
    }));
  }

  close(): void {
    this.socket.close();
  }
}

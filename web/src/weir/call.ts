// One call as this client sees it: coordinator state, session participants and the in-call interactions.

import { type CoordinatorApi } from "./api";
import { fromCallParticipant, type Participant } from "./participants";
import { type CoordinatorSocket } from "./socket";
import { Emitter, Store } from "./store";
import type { CallResponse, CallState, JoinResponse, Member, RecordingFile, User, WeirEvent } from "./types";

export type CallStatus = "idle" | "joining" | "joined" | "left" | "ended" | "removed";

export interface PermissionRequest {
  user: User;
  permissions: string[];
}

export interface CallView {
  call: CallResponse | null;
  members: Member[];
  ownCapabilities: string[];
  status: CallStatus;
  /** Why the call ended or this user was removed (kicked, blocked, ended, timeout...). */
  reason: string;
  localSessionId: string;
  participants: Participant[];
  permissionRequests: PermissionRequest[];
  /** Users whose latest permissions update granted send-audio (audio rooms show them as speakers). */
  speakers: string[];
  /** A short notice for this user, e.g. "muted by alice". */
  notice: string;
}

export interface CallPreferences {
  /** The documented `reactionAutoDismissTime` (5 s by default). */
  reactionAutoDismissMs: number;
}

export const DEFAULT_PREFERENCES: CallPreferences = { reactionAutoDismissMs: 5000 };

const EMPTY: CallView = {
  call: null,
  members: [],
  ownCapabilities: [],
  status: "idle",
  reason: "",
  localSessionId: "",
  participants: [],
  permissionRequests: [],
  speakers: [],
  notice: "",
};

/**
 * `call.session_participant_left` reasons that end a session but not this user's part in the call: the SFU lost
 * it (its media worker died, or the client stayed away past the fast-reconnect deadline). The client rejoins.
 */
const SESSION_LOST = ["sfu_worker_lost", "disconnected"];

export type RecordingAction = "start_recording" | "stop_recording" | "start_frame_recording" | "stop_frame_recording";

/** What a remote mute asks this client to stop sending. */
export type MuteHandler = (tracks: string[]) => void;

export class Call {
  readonly state = new Store<CallView>(EMPTY);
  /** This call's coordinator events, after the state has taken them in. */
  readonly events = new Emitter<WeirEvent>();
  onMuted: MuteHandler = () => {};
  onRemoved: (reason: string) => void = () => {};
  /** The SFU lost this client's session: the media rejoins (the call goes on). */
  onSessionLost: (reason: string) => void = () => {};
  /** This client's sessions that a rejoin replaced: never shown again, whatever a snapshot still lists. */
  private readonly former = new Set<string>();
  /** Former sessions still to leave at the coordinator (after the next successful join). */
  private unleft: string[] = [];
  /** Snapshot requests in flight, and who joined (by event) meanwhile: a snapshot may predate them. */
  private loading = 0;
  private readonly joinedMeanwhile = new Map<string, Participant>();
  /** ...and who left meanwhile: a snapshot may still list them. */
  private readonly leftMeanwhile = new Set<string>();
  private unsubscribe: Array<() => void> = [];
  private dismissTimers = new Map<string, number>();

  constructor(
    readonly cid: string,
    readonly userId: string,
    readonly api: CoordinatorApi,
    private readonly socket: CoordinatorSocket,
    readonly preferences: CallPreferences = DEFAULT_PREFERENCES,
  ) {
    this.unsubscribe.push(
      socket.events.on("*", (event) => {
        if (event.call_cid === cid) this.handle(event);
      }),
      socket.events.on("connection.recovered", () => void this.refresh()),
    );
  }

  get type(): string {
    return this.cid.split(":")[0];
  }

  get id(): string {
    return this.cid.slice(this.type.length + 1);
  }

  get view(): CallView {
    return this.state.get();
  }

  can(capability: string): boolean {
    return this.view.ownCapabilities.includes(capability);
  }

  private patch(change: Partial<CallView>): void {
    this.state.update((view) => ({ ...view, ...change }));
  }

  private apply(state: CallState): void {
    this.patch({ call: state.call, members: state.members, ownCapabilities: state.own_capabilities });
    this.setParticipants(state.call);
    if (!this.loading) {
      this.joinedMeanwhile.clear();
      this.leftMeanwhile.clear();
    }
  }

  /** A request answered with a call snapshot (get, get-or-create, join). */
  private async snapshot<T extends CallState>(request: Promise<T>): Promise<T> {
    this.loading++;
    try {
      return await request;
    } finally {
      this.loading--;
    }
  }

  /** Get (or create) the call and watch its events on this client's WebSocket. */
  async getOrCreate(body: object = {}): Promise<CallState> {
    const state = await this.snapshot(this.api.getOrCreate(this.cid, body, this.socket.connectionId));
    this.apply(state);
    return state;
  }

  /** Get the call and watch it (viewers of a call they may not create). */
  async refresh(): Promise<void> {
    this.apply(await this.snapshot(this.api.get(this.cid, this.socket.connectionId)));
  }

  async join(body: object = {}): Promise<JoinResponse> {
    this.patch({ status: "joining", reason: "" });
    try {
      const joined = await this.snapshot(this.api.join(this.cid, body));
      this.patch({ localSessionId: joined.user_session_id, status: "joined" });
      this.apply(joined);
      return joined;
    } catch (error) {
      this.patch({ status: "idle" });
      throw error;
    }
  }

  /** A new participant session for this user (media rejoin or migration); the previous one is left. */
  async rejoin(migratingFrom?: string): Promise<JoinResponse> {
    const previous = this.view.localSessionId;
    if (previous) {
      this.former.add(previous);
      this.unleft.push(previous);
    }
    this.patch({ localSessionId: "" }); // the previous session's "left" event is not this user leaving
    const joined = await this.snapshot(this.api.join(this.cid, migratingFrom ? { migrating_from: migratingFrom } : {}));
    this.patch({ localSessionId: joined.user_session_id, status: "joined" });
    this.apply(joined);
    for (const old of this.unleft.splice(0)) void this.api.leave(this.cid, old).catch(() => undefined);
    return joined;
  }

  async leave(keepalive = false): Promise<void> {
    const sessionId = this.view.localSessionId;
    const wasIn = this.view.status === "joined";
    this.patch({ status: "left" });
    if (sessionId && wasIn) await this.api.leave(this.cid, sessionId, keepalive).catch(() => undefined);
  }

  endForEveryone(): Promise<object> {
    return this.api.action(this.cid, "mark_ended");
  }

  sendReaction(type: string, emojiCode: string): Promise<object> {
    return this.api.sendReaction(this.cid, type, emojiCode);
  }

  requestPermission(permissions: string[]): Promise<object> {
    return this.api.action(this.cid, "request_permission", { permissions });
  }

  async updatePermissions(userId: string, grant: string[], revoke: string[] = []): Promise<void> {
    await this.api.action(this.cid, "user_permissions", {
      user_id: userId,
      grant_permissions: grant,
      revoke_permissions: revoke,
    });
    this.patch({ permissionRequests: this.view.permissionRequests.filter((r) => r.user.id !== userId) });
  }

  dismissRequest(userId: string): void {
    this.patch({ permissionRequests: this.view.permissionRequests.filter((r) => r.user.id !== userId) });
  }

  muteUser(userId: string, tracks: { audio?: boolean; video?: boolean; screenshare?: boolean }): Promise<object> {
    return this.api.action(this.cid, "mute_users", { user_ids: [userId], ...tracks });
  }

  muteEveryone(): Promise<object> {
    return this.api.action(this.cid, "mute_users", { mute_all_users: true, audio: true });
  }

  block(userId: string): Promise<object> {
    return this.api.action(this.cid, "block", { user_id: userId });
  }

  kick(userId: string): Promise<object> {
    return this.api.action(this.cid, "kick", { user_id: userId });
  }

  pinForEveryone(p: Participant, pinned: boolean): Promise<object> {
    return this.api.action(this.cid, pinned ? "pin" : "unpin", { user_id: p.userId, session_id: p.sessionId });
  }

  pinLocally(sessionId: string, pinned: boolean): void {
    this.updateParticipants((p) => (p.sessionId === sessionId ? { ...p, pinnedLocally: pinned } : p));
  }

  goLive(): Promise<object> {
    return this.api.action(this.cid, "go_live");
  }

  stopLive(): Promise<object> {
    return this.api.action(this.cid, "stop_live");
  }

  accept(): Promise<object> {
    return this.api.action(this.cid, "accept");
  }

  reject(reason: "decline" | "cancel" | "busy" | "timeout" = "decline"): Promise<object> {
    return this.api.action(this.cid, "reject", { reason });
  }

  ring(userIds?: string[]): Promise<object> {
    return this.api.action(this.cid, "ring", userIds ? { user_ids: userIds } : {});
  }

  /** Start or stop recording or frame recording (the seed's routes; events bring the new state). */
  recordingAction(action: RecordingAction): Promise<object> {
    return this.api.action(this.cid, action);
  }

  listRecordings(): Promise<{ recordings: RecordingFile[] }> {
    const path = `/video/call/${encodeURIComponent(this.type)}/${encodeURIComponent(this.id)}/recordings`;
    return this.api.request("GET", path);
  }

  private setRecording(recording: boolean): void {
    if (this.view.call) this.patch({ call: { ...this.view.call, recording } });
  }

  /** Change participants (media state from the SFU, local toggles) without touching the rest. */
  updateParticipants(change: (p: Participant) => Participant): void {
    this.patch({ participants: this.view.participants.map(change) });
  }

  setNotice(notice: string): void {
    this.patch({ notice });
  }

  private setParticipants(call: CallResponse): void {
    const session = call.session;
    if (!session) return;
    const known = new Map(this.view.participants.map((p) => [p.sessionId, p]));
    const pins = new Set((session.pins ?? []).map((pin) => pin.session_id));
    const participants = session.participants
      .filter((cp) => !this.former.has(cp.user_session_id) && !this.leftMeanwhile.has(cp.user_session_id))
      .map((cp) => {
        const fresh = fromCallParticipant(cp, this.view.localSessionId);
        const old = known.get(cp.user_session_id);
        // The joined event can arrive before the join response names our session: isLocal is decided here.
        return { ...(old ?? fresh), isLocal: fresh.isLocal, pinnedForEveryone: pins.has(cp.user_session_id) };
      });
    // joined while the snapshot was on its way (two clients rejoining at once): not in it, but here
    const listed = new Set(participants.map((p) => p.sessionId));
    for (const p of this.joinedMeanwhile.values()) {
      if (!listed.has(p.sessionId) && !this.former.has(p.sessionId))
        participants.push({ ...p, isLocal: p.sessionId === this.view.localSessionId });
    }
    this.patch({ participants });
  }

  private handle(event: WeirEvent): void {
    const handler = this.handlers[event.type];
    if (handler) handler(event);
    this.events.emit(event);
  }

  private removed(reason: string): void {
    if (this.view.status !== "joined" && this.view.status !== "joining") return;
    const sessionId = this.view.localSessionId;
    this.patch({ status: reason === "ended" ? "ended" : "removed", reason });
    // Kicked or blocked: this client leaves the session itself (the SFU also drops its media).
    if (reason === "kicked" || reason === "blocked") void this.api.leave(this.cid, sessionId).catch(() => undefined);
    this.onRemoved(reason);
  }

  private readonly handlers: Record<string, (event: WeirEvent) => void> = {
    "call.session_participant_joined": (event) => {
      const cp = event.participant!;
      if (this.former.has(cp.user_session_id)) return;
      const joined = fromCallParticipant(cp, this.view.localSessionId);
      if (this.loading) this.joinedMeanwhile.set(cp.user_session_id, joined);
      if (this.view.participants.some((p) => p.sessionId === cp.user_session_id)) return;
      this.patch({ participants: [...this.view.participants, joined] });
    },
    "call.session_participant_left": (event) => {
      const gone = event.participant!.user_session_id;
      const mine = gone === this.view.localSessionId;
      this.joinedMeanwhile.delete(gone);
      if (this.loading) this.leftMeanwhile.add(gone);
      // this client's tile stays while the media rejoins; the new session's join response replaces it
      if (mine && SESSION_LOST.includes(event.reason ?? "")) return this.onSessionLost(event.reason!);
      this.patch({ participants: this.view.participants.filter((p) => p.sessionId !== gone) });
      if (mine) this.removed(event.reason ?? "left");
    },
    "call.updated": (event) => this.updateCall(event.call!),
    "call.live_started": (event) => this.updateCall(event.call!),
    "call.hls_broadcasting_started": (event) => this.updateCall(event.call!),
    "call.hls_broadcasting_stopped": () => void this.refresh(),
    "call.hls_broadcasting_failed": () => void this.refresh(),
    "call.session_started": (event) => this.updateCall(event.call!),
    "call.session_ended": (event) => this.updateCall(event.call!),
    "call.ended": (event) => {
      this.updateCall(event.call!);
      this.removed("ended");
    },
    "call.deleted": () => this.removed("ended"),
    "call.recording_started": () => this.setRecording(true),
    "call.recording_stopped": () => this.setRecording(false),
    "call.recording_failed": () => this.setRecording(false),
    "call.frame_recording_started": (event) => this.updateCall(event.call!),
    "call.frame_recording_stopped": (event) => this.updateCall(event.call!),
    "call.frame_recording_failed": (event) => this.updateCall(event.call!),
    "call.reaction_new": (event) => this.showReaction(event),
    "call.permission_request": (event) => {
      const others = this.view.permissionRequests.filter((r) => r.user.id !== event.user!.id);
      this.patch({ permissionRequests: [...others, { user: event.user!, permissions: event.permissions ?? [] }] });
    },
    "call.permissions_updated": (event) => {
      const user = event.user!;
      const capabilities = event.own_capabilities ?? [];
      const speakers = this.view.speakers.filter((id) => id !== user.id);
      if (capabilities.includes("send-audio")) speakers.push(user.id);
      this.patch({ speakers });
      if (user.id !== this.userId) return;
      const lost = this.view.ownCapabilities.filter((c) => !capabilities.includes(c));
      this.patch({ ownCapabilities: capabilities });
      const tracks = [
        ["send-audio", "audio"],
        ["send-video", "video"],
        ["screenshare", "screenshare"],
      ];
      const stop = tracks.filter(([capability]) => lost.includes(capability)).map(([, track]) => track);
      if (stop.length) this.onMuted(stop);
    },
    "call.user_muted": (event) => {
      if (!(event.muted_user_ids ?? []).includes(this.userId)) return;
      this.patch({ notice: `muted:${event.from_user_id ?? ""}` });
      this.onMuted(String(event.reason ?? "audio").split(","));
    },
    "call.kicked_user": (event) => {
      if (event.user?.id === this.userId) this.removed("kicked");
    },
    "call.blocked_user": (event) => {
      if (event.user?.id === this.userId) this.removed("blocked");
    },
  };

  /**
   * A call snapshot from an event: it may be older than the join response already applied, so it changes pins
   * only; who is in the session follows the joined and left events (and the HTTP responses).
   */
  private updateCall(call: CallResponse): void {
    const pins = new Set((call.session?.pins ?? []).map((pin) => pin.session_id));
    this.patch({
      call,
      participants: this.view.participants.map((p) => ({ ...p, pinnedForEveryone: pins.has(p.sessionId) })),
    });
  }

  private showReaction(event: WeirEvent): void {
    const reaction = event.reaction!;
    const userId = reaction.user.id;
    this.updateParticipants((p) => (p.userId === userId ? { ...p, reaction } : p));
    window.clearTimeout(this.dismissTimers.get(userId));
    this.dismissTimers.set(
      userId,
      window.setTimeout(() => {
        this.updateParticipants((p) => (p.userId === userId ? { ...p, reaction: null } : p));
      }, this.preferences.reactionAutoDismissMs),
    );
  }

  dispose(): void {
    for (const stop of this.unsubscribe) stop();
    for (const timer of this.dismissTimers.values()) window.clearTimeout(timer);
  }
}

// JSON shapes of the coordinator API (src/weir/protocol/*.py), as far as the browser app reads them.

import type { SfuCredentials } from "./sfu/connection";

export interface User {
  id: string;
  name?: string | null;
  image?: string | null;
  role: string;
  custom?: Record<string, unknown>;
  online?: boolean;
}

export interface CallParticipant {
  user: User;
  user_session_id: string;
  role: string;
  joined_at: string;
}

export interface Pin {
  user_id: string;
  session_id: string;
  pinned_at: string;
}

export interface CallSession {
  id: string;
  participants: CallParticipant[];
  participants_count_by_role: Record<string, number>;
  anonymous_participant_count: number;
  accepted_by: Record<string, string>;
  rejected_by: Record<string, string>;
  missed_by: Record<string, string>;
  started_at?: string | null;
  ended_at?: string | null;
  live_started_at?: string | null;
  pins?: Pin[];
}

export interface CallSettings {
  audio?: {
    access_request_enabled?: boolean;
    mic_default_on?: boolean;
    noise_cancellation?: { mode?: "available" | "disabled" | "auto-on" };
  };
  video?: { enabled?: boolean; access_request_enabled?: boolean; camera_default_on?: boolean };
  screensharing?: { enabled?: boolean; access_request_enabled?: boolean };
  backstage?: { enabled?: boolean };
  ring?: { incoming_call_timeout_ms?: number; auto_cancel_timeout_ms?: number };
  [section: string]: unknown;
}

export interface CallResponse {
  type: string;
  id: string;
  cid: string;
  current_session_id: string;
  created_by: User;
  custom: Record<string, unknown>;
  settings: CallSettings;
  backstage: boolean;
  recording: boolean;
  captioning: boolean;
  /** What the call's egress does; a type that never ran is absent. */
  egress?: {
    broadcasting?: boolean;
    hls?: { playlist_url: string; status: string } | null;
    frame_recording?: { status: string } | null;
    [kind: string]: unknown;
  };
  transcribing?: boolean;
  blocked_user_ids: string[];
  created_at: string;
  ended_at?: string | null;
  session?: CallSession | null;
}

export interface Member {
  user_id: string;
  user: User;
  role: string;
}

export interface CallState {
  call: CallResponse;
  members: Member[];
  membership: Member | null;
  own_capabilities: string[];
}

export interface JoinResponse extends CallState {
  created: boolean;
  session_id: string;
  user_session_id: string;
  /** Where and how to reach the SFU for this participant session. */
  credentials?: SfuCredentials;
  stats_options?: { reporting_interval_ms: number };
}

export interface Reaction {
  type: string;
  user: User;
  emoji_code?: string | null;
  custom?: Record<string, unknown> | null;
}

/** Every coordinator event; the fields a handler reads depend on `type`. */
/** A file of `list_recordings`, at a signed URL that expires. */
export interface RecordingFile {
  filename: string;
  url: string;
  start_time: string;
  end_time: string;
  session_id: string;
  recording_type: string;
}

export interface WeirEvent {
  type: string;
  created_at: string;
  call_cid?: string;
  call?: CallResponse;
  members?: Member[] | string[];
  user?: User;
  participant?: CallParticipant;
  session_id?: string;
  reaction?: Reaction;
  permissions?: string[];
  own_capabilities?: string[];
  muted_user_ids?: string[];
  from_user_id?: string;
  reason?: string | null;
  video?: boolean;
  connection_id?: string;
  me?: User;
  error?: { message: string; code: number };
  custom?: Record<string, unknown>;
  [field: string]: unknown;
}

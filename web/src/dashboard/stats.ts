// The call stats API's shapes (src/weir/protocol/call_stats.py), as far as the dashboard reads them.

export type Quality = "good" | "fair" | "poor" | "unknown";

export const ACTIVE_CALLS_STATUS_PATH = "/video/active_calls_status";
export const QUERY_CALL_STATS_PATH = "/video/call/stats";

export function callStatsPath(cid: string, sessionId: string): string {
  const at = cid.indexOf(":");
  const [type, id] = [cid.slice(0, at), cid.slice(at + 1)];
  return `/video/call/${encodeURIComponent(type)}/${encodeURIComponent(id)}/stats/${encodeURIComponent(sessionId)}`;
}

export interface QualityIssue {
  metric: string;
  level: "fair" | "poor";
  value: number;
  text: string;
}

export interface LiveParticipantQuality {
  user_id: string;
  user_session_id: string;
  quality: Quality;
  issues: QualityIssue[];
  publishing: string[];
}

export interface ActiveCallsStatus {
  start_time: string;
  end_time: string;
  summary: { active_calls: number; active_publishers: number; active_subscribers: number; participants: number };
  metrics: { join_call_api: { failures: number; total: number; latency: { p50: number; p90: number } | null } };
  calls: { call_cid: string; session_id: string; quality: Quality; participants: LiveParticipantQuality[] }[];
}

export interface QualitySample {
  at: string;
  quality: Quality;
  jitter_ms: number | null;
  rtt_ms: number | null;
  packet_loss_pct: number | null;
  bitrate_kbps: number | null;
  fps: number | null;
}

export interface TrackStats {
  track_type: string;
  direction: "published" | "subscribed";
  packets: number;
  bytes: number;
  packets_lost: number;
  nacks: number;
  plis: number;
  bitrate_kbps: number | null;
  jitter_ms: number | null;
  layers: string[];
}

export interface ParticipantStats {
  user_id: string;
  user_session_id: string;
  joined_at: string | null;
  left_at: string | null;
  quality: Quality;
  issues: QualityIssue[];
  timeline: QualitySample[];
  tracks: TrackStats[];
}

export interface CallStatsSummary {
  call_cid: string;
  session_id: string;
  started_at: string | null;
  ended_at: string | null;
  duration_seconds: number;
  participants_count: number;
  quality: Quality;
  issues: QualityIssue[];
}

export interface CallStatsReport extends CallStatsSummary {
  participants: ParticipantStats[];
  timeline: QualitySample[];
}

// Live calls: the calls with a running session, each participant with their quality (from the call stats API's
// active calls status, when the server has it), and end call and kick.

import { useRef } from "preact/hooks";
import { WeirError } from "../weir/api";
import { callPath, Problem, Section, Table, useAction, useApi, useLoad, when, type ScreenProps } from "./common";
import { ACTIVE_CALLS_STATUS_PATH, type ActiveCallsStatus, type LiveParticipantQuality } from "./stats";

const REFRESH_MS = 2000;

interface Participant {
  user: { id: string; name: string | null };
  user_session_id: string;
  role: string;
  joined_at: string;
}

interface LiveCall {
  call: {
    cid: string;
    type: string;
    created_by: { id: string };
    session: { id: string; started_at: string | null; participants: Participant[] } | null;
  };
}

/** The active calls status, or null on a server without the call stats API (then not asked again). */
async function activeStatus(
  load: () => Promise<ActiveCallsStatus>,
  missing: { current: boolean },
): Promise<ActiveCallsStatus | null> {
  if (missing.current) return null;
  try {
    return await load();
  } catch (failure) {
    if (!(failure instanceof WeirError && failure.status === 404)) throw failure;
    missing.current = true;
    return null;
  }
}

export function LiveCalls(_: ScreenProps) {
  const api = useApi();
  const calls = useLoad(
    () =>
      api.request<{ calls: LiveCall[] }>("POST", "/video/calls", { filter_conditions: { ongoing: true }, limit: 25 }),
    [],
    REFRESH_MS,
  );
  const missing = useRef(false);
  const status = useLoad(
    () => activeStatus(() => api.request("GET", ACTIVE_CALLS_STATUS_PATH), missing),
    [],
    REFRESH_MS,
  );
  const action = useAction();
  const quality = new Map<string, LiveParticipantQuality>();
  for (const call of status.data?.calls ?? []) for (const p of call.participants) quality.set(p.user_session_id, p);

  async function act(cid: string, verb: string, body: object = {}): Promise<void> {
    if (await action.run(() => api.request("POST", callPath(cid, verb), body))) calls.reload();
  }

  const summary = status.data?.summary;
  return (
    <>
      {summary && (
        <div class="cards" data-testid="live-summary">
          {(
            [
              [summary.active_calls, "calls"],
              [summary.participants, "participants"],
              [summary.active_publishers, "publishers"],
              [summary.active_subscribers, "subscribers"],
            ] as const
          ).map(([count, what]) => (
            <div class="card">
              <b>{count}</b> {what}
            </div>
          ))}
        </div>
      )}
      {status.data === null && !status.error && calls.data && (
        <p class="dash-hint" data-testid="no-call-stats">
          This server has no call stats API: quality is not shown.
        </p>
      )}
      <Problem error={calls.error || status.error || action.error} />
      {calls.data?.calls.length === 0 && <p class="dash-hint">No call is live.</p>}
      {calls.data?.calls.map(({ call }) => (
        <Section
          title={call.cid}
          actions={
            <button class="danger" data-testid="end-call" onClick={() => void act(call.cid, "mark_ended")}>
              End call
            </button>
          }
        >
          <div data-testid="live-call" data-cid={call.cid}>
            <p class="dash-hint">
              started {when(call.session?.started_at)} · created by {call.created_by.id}
            </p>
            <Table columns={["user", "role", "joined", "publishing", "quality", ""]}>
              {call.session?.participants.map((participant) => {
                const seen = quality.get(participant.user_session_id);
                return (
                  <tr data-testid="live-participant" data-user-id={participant.user.id}>
                    <td>{participant.user.name || participant.user.id}</td>
                    <td>{participant.role}</td>
                    <td>{when(participant.joined_at)}</td>
                    <td>{seen?.publishing.join(", ") ?? ""}</td>
                    <td>
                      <span class={`badge quality-${seen?.quality ?? "unknown"}`} data-testid="participant-quality">
                        {seen?.quality ?? "unknown"}
                      </span>{" "}
                      {seen?.issues.map((issue) => (
                        <small class="issue">{issue.text}</small>
                      ))}
                    </td>
                    <td>
                      <button
                        class="danger"
                        data-testid="kick"
                        onClick={() => void act(call.cid, "kick", { user_id: participant.user.id })}
                      >
                        Kick
                      </button>
                    </td>
                  </tr>
                );
              })}
            </Table>
          </div>
        </Section>
      ))}
    </>
  );
}

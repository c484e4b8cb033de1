// Past calls: the call stats reports, newest first; one opens with the call's and each participant's quality
// over time as charts, the issues found, and the SFU's per-track counters.

import { Problem, Section, Table, useApi, useLoad, when, type ScreenProps } from "./common";
import { QualityChart } from "./QualityChart";
import {
  callStatsPath,
  QUERY_CALL_STATS_PATH,
  type CallStatsReport,
  type CallStatsSummary,
  type QualityIssue,
} from "./stats";

function Issues({ issues }: { issues: QualityIssue[] }) {
  return (
    <>
      {issues.map((issue) => (
        <small class={`issue level-${issue.level}`} data-testid="quality-issue">
          {issue.text}
        </small>
      ))}
    </>
  );
}

function Badge({ quality }: { quality: string }) {
  return (
    <span class={`badge quality-${quality}`} data-testid="quality">
      {quality}
    </span>
  );
}

export function PastCalls({ rest, go, open }: ScreenProps) {
  const [cid, sessionId] = rest.split("/");
  return sessionId ? <Report cid={cid} sessionId={sessionId} open={open} /> : <Reports go={go} />;
}

function Reports({ go }: { go: (rest: string) => void }) {
  const api = useApi();
  const reports = useLoad(
    () => api.request<{ reports: CallStatsSummary[] }>("POST", QUERY_CALL_STATS_PATH, { limit: 25 }),
    [],
  );
  return (
    <Section title="Call stats reports">
      <Problem error={reports.error} />
      {reports.data?.reports.length === 0 && <p class="dash-hint">No call has ended yet.</p>}
      <Table testId="reports" columns={["call", "started", "length", "participants", "quality"]}>
        {reports.data?.reports.map((report) => (
          <tr data-testid="report-row" data-cid={report.call_cid}>
            <td>
              <a
                href="#"
                data-testid="open-report"
                onClick={(e) => {
                  e.preventDefault();
                  go(`${report.call_cid}/${report.session_id}`);
                }}
              >
                {report.call_cid}
              </a>
            </td>
            <td>{when(report.started_at)}</td>
            <td>{report.duration_seconds} s</td>
            <td>{report.participants_count}</td>
            <td>
              <Badge quality={report.quality} /> <Issues issues={report.issues} />
            </td>
          </tr>
        ))}
      </Table>
    </Section>
  );
}

function Report({ cid, sessionId, open }: { cid: string; sessionId: string; open: ScreenProps["open"] }) {
  const api = useApi();
  const report = useLoad(() => api.request<CallStatsReport>("GET", callStatsPath(cid, sessionId)), [cid, sessionId]);
  const data = report.data;
  return (
    <div data-testid="report" data-cid={cid}>
      <p class="row">
        <button onClick={() => open("past")}>All reports</button>
        <button onClick={() => open("recordings", cid)}>Recordings of {cid}</button>
      </p>
      <Problem error={report.error} />
      {data && (
        <>
          <Section title={`${cid} · session ${sessionId}`}>
            <p>
              <Badge quality={data.quality} /> {when(data.started_at)} – {when(data.ended_at)} · {data.duration_seconds}{" "}
              s · {data.participants_count} participants
            </p>
            <Issues issues={data.issues} />
            <QualityChart samples={data.timeline} testId="call-chart" />
          </Section>
          {data.participants.map((participant) => (
            <Section title={participant.user_id}>
              <div data-testid="report-participant" data-user-id={participant.user_id}>
                <p>
                  <Badge quality={participant.quality} /> joined {when(participant.joined_at)}, left{" "}
                  {when(participant.left_at)} <Issues issues={participant.issues} />
                </p>
                <QualityChart samples={participant.timeline} testId="participant-chart" />
                <Table
                  columns={["track", "direction", "packets", "lost", "NACKs", "PLIs", "kbps", "jitter ms", "layers"]}
                >
                  {participant.tracks.map((track) => (
                    <tr>
                      <td>{track.track_type}</td>
                      <td>{track.direction}</td>
                      <td>{track.packets}</td>
                      <td>{track.packets_lost}</td>
                      <td>{track.nacks}</td>
                      <td>{track.plis}</td>
                      <td>{track.bitrate_kbps?.toFixed(0) ?? ""}</td>
                      <td>{track.jitter_ms?.toFixed(1) ?? ""}</td>
                      <td>{track.layers.join(" ")}</td>
                    </tr>
                  ))}
                </Table>
              </div>
            </Section>
          ))}
        </>
      )}
    </div>
  );
}

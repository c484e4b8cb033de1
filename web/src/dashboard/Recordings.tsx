// A call's recordings, transcripts and frame captures, played and shown in place.

import { useState } from "preact/hooks";
import type { RecordingFile } from "../weir/types";
import { callPath, Form, Problem, Section, useApi, useLoad, when, type ScreenProps } from "./common";

type Transcription = Omit<RecordingFile, "recording_type">;
/** One image of a frame recording, from Weir's own `frame_captures` listing. */
type FrameCapture = { filename: string; url: string; captured_at: string; session_id: string; egress_id: string };

export function Recordings({ rest, go }: ScreenProps) {
  const [cid, setCid] = useState(rest);
  return (
    <>
      <Form class="row" onSubmit={() => go(cid.trim())}>
        <label class="inline">
          Call (type:id){" "}
          <input
            data-testid="recordings-cid"
            value={cid}
            placeholder="default:abc"
            onInput={(e) => setCid(e.currentTarget.value)}
          />
        </label>
        <button class="primary" type="submit" data-testid="recordings-open" disabled={!cid.includes(":")}>
          Show
        </button>
      </Form>
      {rest.includes(":") && <CallFiles key={rest} cid={rest} />}
    </>
  );
}

function CallFiles({ cid }: { cid: string }) {
  const api = useApi();
  const recordings = useLoad(
    () => api.request<{ recordings: RecordingFile[] }>("GET", callPath(cid, "recordings")),
    [cid],
  );
  const transcripts = useLoad(
    () => api.request<{ transcriptions: Transcription[] }>("GET", callPath(cid, "transcriptions")),
    [cid],
  );
  const frames = useLoad(
    () => api.request<{ frame_captures: FrameCapture[] }>("GET", callPath(cid, "frame_captures")),
    [cid],
  );
  return (
    <>
      <Section title="Recordings">
        <Problem error={recordings.error} />
        {recordings.data?.recordings.length === 0 && <p class="dash-hint">No recordings.</p>}
        {recordings.data?.recordings.map((recording) => (
          <figure class="media" data-testid="recording">
            {/\.(mp3|ogg|m4a|wav|opus)$/.test(recording.filename) ? (
              <audio controls preload="metadata" src={recording.url} />
            ) : (
              <video controls preload="metadata" src={recording.url} />
            )}
            <figcaption>
              {recording.recording_type} · {recording.filename} · {when(recording.start_time)} –{" "}
              {when(recording.end_time)}{" "}
              <a href={recording.url} download>
                download
              </a>
            </figcaption>
          </figure>
        ))}
      </Section>
      <Section title="Transcriptions">
        <Problem error={transcripts.error} />
        {transcripts.data?.transcriptions.length === 0 && <p class="dash-hint">No transcriptions.</p>}
        {transcripts.data?.transcriptions.map((transcript) => (
          <Transcript transcript={transcript} />
        ))}
      </Section>
      <Section title="Frame captures">
        <Problem error={frames.error} />
        {frames.data?.frame_captures.length === 0 && <p class="dash-hint">No frame captures.</p>}
        <div class="frames">
          {frames.data?.frame_captures.map((frame) => (
            <figure class="frame" data-testid="frame-capture">
              <a href={frame.url} target="_blank" rel="noreferrer">
                <img src={frame.url} alt={frame.filename} loading="lazy" />
              </a>
              <figcaption>{when(frame.captured_at)}</figcaption>
            </figure>
          ))}
        </div>
      </Section>
    </>
  );
}

function Transcript({ transcript }: { transcript: Transcription }) {
  const [text, setText] = useState<string | null>(null);
  return (
    <div class="transcript" data-testid="transcription">
      <p>
        {transcript.filename} · {when(transcript.start_time)}{" "}
        <button
          onClick={() =>
            void fetch(transcript.url)
              .then((r) => r.text())
              .then(setText, (failure: Error) => setText(failure.message))
          }
        >
          Show
        </button>{" "}
        <a href={transcript.url} download>
          download
        </a>
      </p>
      {text !== null && <pre data-testid="transcription-text">{text}</pre>}
    </div>
  );
}

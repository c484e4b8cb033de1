// Recording on the call screen: the indicator everyone sees while the call records, the record and
// frame-recording buttons for those with the capability, and the call's recordings at their signed URLs.

import { useEffect, useState } from "preact/hooks";
import type { Call, CallView, RecordingAction } from "../weir/call";
import type { CallSession } from "../weir/session";
import type { RecordingFile } from "../weir/types";
import { t } from "./i18n";

function frameRecording(view: CallView): boolean {
  return view.call?.egress?.frame_recording?.status === "running";
}

/** Shown to everyone in the call: the seed's `recording` flag and the frame-recording egress status. */
export function RecordingIndicator({ view }: { view: CallView }) {
  return (
    <>
      {view.call?.recording && (
        <span class="recording-indicator" data-testid="recording-indicator" role="status">
          {t("call.recording.indicator")}
        </span>
      )}
      {frameRecording(view) && (
        <span class="recording-indicator frames" data-testid="frame-recording-indicator" role="status">
          {t("call.frameRecording.indicator")}
        </span>
      )}
    </>
  );
}

export function RecordingControls({ session, view }: { session: CallSession; view: CallView }) {
  const [listOpen, setListOpen] = useState(false);
  const [error, setError] = useState("");
  const can = (capability: string) => view.ownCapabilities.includes(capability);
  const recording = Boolean(view.call?.recording);
  const frames = frameRecording(view);

  async function run(action: RecordingAction): Promise<void> {
    setError("");
    try {
      await session.call.recordingAction(action);
    } catch (failure) {
      setError(t("call.recordings.failed", { message: (failure as Error).message }));
    }
  }

  return (
    <>
      {can(recording ? "stop-record-call" : "start-record-call") && (
        <button
          class={`round record ${recording ? "active" : ""}`}
          data-testid="toggle-recording"
          aria-pressed={recording}
          title={t(recording ? "call.recording.stop" : "call.recording.start")}
          onClick={() => void run(recording ? "stop_recording" : "start_recording")}
        >
          <span class="record-dot" />
        </button>
      )}
      {can(frames ? "stop-frame-record-call" : "start-frame-record-call") && (
        <button
          class={`round frames ${frames ? "active" : ""}`}
          data-testid="toggle-frame-recording"
          aria-pressed={frames}
          title={t(frames ? "call.frameRecording.stop" : "call.frameRecording.start")}
          onClick={() => void run(frames ? "stop_frame_recording" : "start_frame_recording")}
        >
          <span class="frame-icon" />
        </button>
      )}
      <span class="menu">
        <button
          class="round"
          data-testid="recordings"
          title={t("call.recordings")}
          aria-expanded={listOpen}
          onClick={() => setListOpen(!listOpen)}
        >
          <span class="list-icon" />
        </button>
        {listOpen && <RecordingsList call={session.call} />}
      </span>
      {error && (
        <span class="warning" data-testid="recording-error">
          {error}
        </span>
      )}
    </>
  );
}

/** `list_recordings`, loaded when opened and again whenever `call.recording_ready` announces a file. */
export function RecordingsList({ call }: { call: Call }) {
  const [files, setFiles] = useState<RecordingFile[] | null>(null);
  useEffect(() => {
    let open = true;
    const load = () =>
      void call
        .listRecordings()
        .then((answer) => open && setFiles(answer.recordings))
        .catch(() => open && setFiles([]));
    load();
    const off = call.events.on("call.recording_ready", load);
    return () => {
      open = false;
      off();
    };
  }, [call]);
  return (
    <div class="popup recordings" data-testid="recordings-list">
      {files !== null && files.length === 0 && <p>{t("call.recordings.none")}</p>}
      {files !== null && files.length > 0 && (
        <ul>
          {files.map((file) => (
            <li
              key={`${file.session_id}/${file.filename}`}
              data-testid="recording-file"
              data-type={file.recording_type}
            >
              <a href={file.url} download={file.filename} target="_blank" rel="noreferrer">
                {file.filename}
              </a>
              <small>{new Date(file.start_time).toLocaleString()}</small>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

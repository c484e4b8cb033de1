// Closed captions in a call: the toggle (for those with the capability), the overlay with speaker names, and the
// call's transcripts.

import { useEffect, useMemo, useState } from "preact/hooks";
import { Captions, type Transcription } from "../weir/captions";
import type { CallSession } from "../weir/session";
import { useStore } from "./hooks";
import { t } from "./i18n";

export function useCaptions(session: CallSession): Captions {
  const captions = useMemo(() => new Captions(session.call), [session]);
  useEffect(() => () => captions.dispose(), [captions]);
  return captions;
}

export function CaptionsOverlay({ captions }: { captions: Captions }) {
  const view = useStore(captions.state);
  if (!view.captions.length) return null;
  return (
    <div class="captions" data-testid="captions" aria-live="polite">
      {view.captions.map((caption) => (
        <p key={caption.id} data-speaker={caption.speakerId}>
          <b>{caption.name}:</b> {caption.text}
        </p>
      ))}
    </div>
  );
}

export function CaptionsControls({ session, captions }: { session: CallSession; captions: Captions }) {
  const view = useStore(captions.state);
  useStore(session.call.state); // capabilities arrive and change with the call
  const [list, setList] = useState<Transcription[] | null>(null);
  const [error, setError] = useState("");
  const can = (capability: string) => session.call.can(capability);
  const mayToggle = can(view.captioning ? "stop-closed-captions-call" : "start-closed-captions-call");
  const run = (work: Promise<unknown>) => work.catch((e: Error) => setError(e.message));
  return (
    <span class="captions-controls">
      {mayToggle && (
        <button
          class={view.captioning ? "on" : ""}
          data-testid="captions-toggle"
          aria-pressed={view.captioning}
          title={t(view.captioning ? "captions.stop" : "captions.start")}
          onClick={() => void run(captions.toggle())}
        >
          CC
        </button>
      )}
      {can("start-transcription-call") && (
        <button
          data-testid="transcriptions-open"
          onClick={() => void run(list ? Promise.resolve(setList(null)) : captions.transcriptions().then(setList))}
        >
          {t("captions.transcripts")}
        </button>
      )}
      {error && (
        <span class="warning" data-testid="captions-error">
          {error}
        </span>
      )}
      {list && (
        <ul class="transcriptions" data-testid="transcriptions">
          {list.length === 0 && <li>{t("captions.noTranscripts")}</li>}
          {list.map((item) => (
            <li key={item.url}>
              <a href={item.url} target="_blank" rel="noreferrer" data-testid="transcription">
                {item.filename}
              </a>
            </li>
          ))}
        </ul>
      )}
    </span>
  );
}

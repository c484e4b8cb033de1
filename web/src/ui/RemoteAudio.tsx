// Plays every remote participant's audio on the chosen output device (hidden <audio> elements).

import { useEffect, useRef } from "preact/hooks";
import type { CallSession } from "../weir/session";
import { useStore } from "./hooks";

export function RemoteAudio({ session }: { session: CallSession }) {
  const view = useStore(session.call.state);
  const media = useStore(session.media.state);
  const streams = view.participants
    .filter((p) => !p.isLocal && p.audioStream)
    .map((p) => [p.sessionId, p.audioStream!] as const);
  return (
    <div hidden>
      {streams.map(([sessionId, stream]) => (
        <Sound key={sessionId} sessionId={sessionId} stream={stream} sinkId={media.speakerDeviceId} />
      ))}
    </div>
  );
}

function Sound({ sessionId, stream, sinkId }: { sessionId: string; stream: MediaStream; sinkId: string }) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const audio = ref.current as (HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> }) | null;
    if (!audio) return;
    audio.srcObject = stream;
    if (sinkId && audio.setSinkId) void audio.setSinkId(sinkId).catch(() => undefined);
    void audio.play().catch(() => undefined);
  }, [stream, sinkId]);
  return <audio ref={ref} autoplay data-testid="remote-audio" data-session-id={sessionId} />;
}

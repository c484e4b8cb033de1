// A livestream watched over HLS with hls.js (Safari plays HLS itself): no WebRTC connection, so one Weir
// process serves many such viewers. A playlist that never appears, or a fatal player error, calls onFail and
// the viewer falls back to WebRTC. hls.js is loaded only when a viewer watches over HLS.

import type Hls from "hls.js";
import { useEffect, useRef } from "preact/hooks";

const PLAYLIST_WAIT_MS = 60_000; // the egress worker starts a browser and an encoder before the first segment

interface Props {
  url: string;
  onFail: () => void;
}

/** Until the playlist is served (the broadcast starts announced, its first segment comes seconds later). */
async function playlistServed(url: string, stopped: () => boolean): Promise<boolean> {
  const deadline = Date.now() + PLAYLIST_WAIT_MS;
  while (!stopped() && Date.now() < deadline) {
    const response = await fetch(url, { cache: "no-store" }).catch(() => null);
    if (response?.ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}

function play(video: HTMLVideoElement): void {
  // with sound if the browser allows it, else muted (the controls unmute)
  video.play().catch(() => {
    video.muted = true;
    void video.play().catch(() => undefined);
  });
}

export function HlsPlayer({ url, onFail }: Props) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const video = ref.current!;
    let stopped = false;
    let hls: Hls | null = null;
    const start = async (): Promise<void> => {
      const served = await playlistServed(url, () => stopped);
      if (stopped) return;
      if (!served) return onFail();
      const { default: Hls } = await import("hls.js");
      if (stopped) return;
      if (!Hls.isSupported()) {
        if (!video.canPlayType("application/vnd.apple.mpegurl")) return onFail();
        video.src = url;
        return play(video);
      }
      hls = new Hls({ liveSyncDurationCount: 3 });
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (!data.fatal) return;
        hls?.destroy();
        onFail();
      });
      hls.on(Hls.Events.MANIFEST_PARSED, () => play(video));
      hls.loadSource(url);
      hls.attachMedia(video);
    };
    start().catch(onFail);
    return () => {
      stopped = true;
      hls?.destroy();
    };
  }, [url]);
  return <video ref={ref} class="video contain" data-testid="hls-video" autoplay playsInline controls />;
}

// A <video> bound to a MediaStream (srcObject cannot be set through an attribute).

import { useEffect, useRef } from "preact/hooks";

interface Props {
  stream: MediaStream | null;
  muted?: boolean;
  mirror?: boolean;
  testid?: string;
  fit?: "cover" | "contain";
  onVideo?: (element: HTMLVideoElement | null) => void;
}

export function Video({ stream, muted = true, mirror = false, testid, fit = "cover", onVideo }: Props) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    if (video.srcObject !== stream) video.srcObject = stream;
    if (stream) void video.play().catch(() => undefined);
  }, [stream]);
  useEffect(() => {
    onVideo?.(ref.current);
    return () => onVideo?.(null);
  }, [onVideo]);
  return (
    <video
      ref={ref}
      class={`video ${fit}${mirror ? " mirror" : ""}`}
      data-testid={testid}
      autoplay
      playsInline
      muted={muted}
    />
  );
}

// Whether this user may cancel noise in a call, and auto-on: the call's audio.noise_cancellation.mode
// (available, disabled, auto-on) and the enable-noise-cancellation capability.

import type { CallView } from "../call";
import type { LocalMedia } from "../media";

export function noiseCancellationMode(view: CallView): string | undefined {
  return view.call?.settings?.audio?.noise_cancellation?.mode;
}

/** The toggle shows only when this is true. */
export function canCancelNoise(view: CallView): boolean {
  const mode = noiseCancellationMode(view);
  return mode !== undefined && mode !== "disabled" && view.ownCapabilities.includes("enable-noise-cancellation");
}

/** In a call: off once the call's mode turns disabled or the capability is revoked. */
export function followCall(view: CallView, media: LocalMedia): void {
  if (media.view.noise && !canCancelNoise(view)) void media.setNoiseCancellation(false);
}

/** On joining: the lobby's choice stands where the call allows it; auto-on turns it on; otherwise it is off. */
export async function applyOnJoin(view: CallView, media: LocalMedia): Promise<void> {
  const wanted = canCancelNoise(view) && (media.view.noise || noiseCancellationMode(view) === "auto-on");
  if (wanted !== media.view.noise) await media.setNoiseCancellation(wanted);
}

// The noise-cancellation toggle (the lobby's and the call controls'): RNNoise on the microphone, on or off.

import type { LocalMedia } from "../weir/media";
import { t } from "./i18n";
import { Icon } from "./Icon";

export function NoiseToggle({ media, on }: { media: LocalMedia; on: boolean }) {
  return (
    <button
      class={`round ${on ? "active" : ""}`}
      data-testid="toggle-noise-cancellation"
      aria-pressed={on}
      title={t(on ? "call.noise.on" : "call.noise.off")}
      onClick={() => media.setNoiseCancellation(!on)}
    >
      <Icon name="noise" />
    </button>
  );
}

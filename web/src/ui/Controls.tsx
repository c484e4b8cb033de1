// Call controls (the seed's StreamCallControls): microphone, camera, device switch, screen share, reactions,
// raise hand / permission request, participants, layout, picture-in-picture, leave and end for everyone.

import { useState } from "preact/hooks";
import type { CallView } from "../weir/call";
import type { LocalMediaView } from "../weir/media";
import type { Layout } from "../weir/participants";
import type { CallSession } from "../weir/session";
import { t } from "./i18n";
import { REACTIONS } from "./reactions";
import { RecordingControls } from "./Recording";
import { Icon } from "./Icon";
import { canCancelNoise } from "../weir/noise/policy";
import { NoiseToggle } from "./NoiseToggle";

interface Props {
  session: CallSession;
  view: CallView;
  media: LocalMediaView;
  layout?: Layout;
  onLayout?: (layout: Layout) => void;
  onParticipants?: () => void;
  onLeave: (endForAll?: boolean) => void;
  video?: boolean;
}

/** What a user may ask for when the call lacks it (the documented permission-request workflow). */
export function missingPermissions(view: CallView, wanted: string[]): string[] {
  const settings = view.call?.settings;
  const requestable: Record<string, boolean> = {
    "send-audio": Boolean(settings?.audio?.access_request_enabled),
    "send-video": Boolean(settings?.video?.access_request_enabled) && settings?.video?.enabled !== false,
    screenshare: Boolean(settings?.screensharing?.access_request_enabled) && settings?.screensharing?.enabled !== false,
  };
  return wanted.filter((p) => requestable[p] && !view.ownCapabilities.includes(p));
}

export function Controls({ session, view, media, layout, onLayout, onParticipants, onLeave, video = true }: Props) {
  const [reactionsOpen, setReactionsOpen] = useState(false);
  const [requested, setRequested] = useState(false);
  const can = (capability: string) => view.ownCapabilities.includes(capability);
  const missing = missingPermissions(view, video ? ["send-audio", "send-video", "screenshare"] : ["send-audio"]);

  async function pictureInPicture(): Promise<void> {
    const videos = [...document.querySelectorAll<HTMLVideoElement>("[data-testid=participant-tile] video")];
    const dominant = document.querySelector<HTMLVideoElement>("[data-dominant=true] video");
    const target = dominant ?? videos.find((v) => !v.closest("[data-local=true]")) ?? videos[0];
    if (document.pictureInPictureElement) await document.exitPictureInPicture();
    else if (target) await target.requestPictureInPicture().catch(() => undefined);
  }

  return (
    <nav class="controls" data-testid="call-controls">
      {(can("send-audio") || missing.includes("send-audio")) && (
        <button
          class={`round ${media.mic ? "" : "off"}`}
          data-testid="toggle-mic"
          aria-pressed={media.mic}
          disabled={!can("send-audio")}
          title={t(media.mic ? "call.mic.on" : "call.mic.off")}
          onClick={() => session.toggleMic()}
        >
          <Icon name={media.mic ? "mic" : "micOff"} />
        </button>
      )}
      {canCancelNoise(view) && <NoiseToggle media={session.media} on={media.noise} />}
      {video && (
        <>
          <button
            class={`round ${media.camera ? "" : "off"}`}
            data-testid="toggle-camera"
            aria-pressed={media.camera}
            disabled={!can("send-video")}
            title={t(media.camera ? "call.camera.on" : "call.camera.off")}
            onClick={() => session.toggleCamera()}
          >
            <Icon name={media.camera ? "camera" : "cameraOff"} />
          </button>
          <button
            class="round"
            data-testid="switch-camera"
            title={t("call.switchCamera")}
            disabled={!media.camera}
            onClick={() => session.switchCamera()}
          >
            <Icon name="switchCamera" />
          </button>
          <button
            class={`round ${media.screen ? "active" : ""}`}
            data-testid="screen-share"
            aria-pressed={media.screen}
            disabled={!can("screenshare")}
            title={t(media.screen ? "call.screenShare.on" : "call.screenShare.off")}
            onClick={() => session.toggleScreenShare()}
          >
            <Icon name="screen" />
          </button>
        </>
      )}
      <span class="menu">
        <button
          class="round"
          data-testid="reactions"
          title={t("call.reactions")}
          aria-expanded={reactionsOpen}
          onClick={() => setReactionsOpen(!reactionsOpen)}
        >
          <Icon name="smile" />
        </button>
        {reactionsOpen && (
          <span class="popup" data-testid="reaction-menu">
            {REACTIONS.map((r) => (
              <button
                key={r.type}
                data-testid={`send-reaction-${r.type}`}
                title={r.type}
                onClick={() => {
                  setReactionsOpen(false);
                  void session.call.sendReaction(r.type, r.emojiCode);
                }}
              >
                {r.emoji}
              </button>
            ))}
          </span>
        )}
      </span>
      {missing.length > 0 ? (
        <button
          class="round"
          data-testid="request-permission"
          title={t(requested ? "call.requestSent" : "call.requestPermission")}
          disabled={requested}
          onClick={() => {
            setRequested(true);
            void session.call.requestPermission(missing).catch(() => setRequested(false));
          }}
        >
          <Icon name="hand" />
        </button>
      ) : (
        <button
          class="round"
          data-testid="raise-hand"
          title={t("call.raiseHand")}
          onClick={() => session.call.sendReaction("raise-hand", ":raise-hand:")}
        >
          <Icon name="hand" />
        </button>
      )}
      {onParticipants && (
        <button
          class="round"
          data-testid="toggle-participants"
          title={t("call.participants", { count: view.participants.length })}
          onClick={onParticipants}
        >
          <Icon name="people" />
          <small>{view.participants.length}</small>
        </button>
      )}
      {onLayout && layout && (
        <button
          class="round"
          data-testid="toggle-layout"
          data-layout={layout}
          title={t(layout === "grid" ? "call.layout.spotlight" : "call.layout.grid")}
          onClick={() => onLayout(layout === "grid" ? "spotlight" : "grid")}
        >
          <Icon name={layout === "grid" ? "spotlight" : "grid"} />
        </button>
      )}
      {video && "pictureInPictureEnabled" in document && (
        <button class="round" data-testid="picture-in-picture" title={t("call.pip")} onClick={pictureInPicture}>
          <Icon name="pip" />
        </button>
      )}
      <RecordingControls session={session} view={view} />
      <button class="danger" data-testid="leave-call" onClick={() => onLeave(false)}>
        {t("call.leave")}
      </button>
      {can("end-call") && (
        <button class="danger outline" data-testid="end-call" onClick={() => onLeave(true)}>
          {t("call.endForAll")}
        </button>
      )}
    </nav>
  );
}

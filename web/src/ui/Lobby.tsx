// The lobby (the seed's StreamLobbyView): pick a call, a name and devices, preview, then join or ring.

import { useEffect, useState } from "preact/hooks";
import type { WeirClient } from "../weir/client";
import { listDevices, playTestTone, type Devices, type LocalMedia } from "../weir/media";
import { useStore } from "./hooks";
import { t, type Key } from "./i18n";
import { generateCallId, joinPath, type CallRef } from "./route";
import { Video } from "./Video";
import { Icon } from "./Icon";
import { NoiseToggle } from "./NoiseToggle";

export interface LobbyChoice extends CallRef {
  name: string;
  ring: string[];
  video: boolean;
}

const CALL_TYPES = ["default", "audio_room", "livestream", "development"];
const NO_DEVICES: Devices = { cameras: [], mics: [], speakers: [] };

interface Props {
  client: WeirClient;
  media: LocalMedia;
  initial: CallRef | null;
  error: string;
  onStart: (choice: LobbyChoice) => void;
}

export function Lobby({ client, media, initial, error, onStart }: Props) {
  const view = useStore(media.state);
  const ringing = useStore(client.ringing);
  const [type, setType] = useState(initial?.type ?? "default");
  const [id, setId] = useState(initial?.id ?? generateCallId());
  const [name, setName] = useState(client.me?.name || client.userId);
  const [ring, setRing] = useState("");
  const [video, setVideo] = useState(true);
  const [devices, setDevices] = useState<Devices>(NO_DEVICES);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    const refresh = () => listDevices().then((found) => live && setDevices(found));
    (async () => {
      if (!media.view.micStream) await media.setMic(true);
      if (!media.view.cameraStream && type !== "audio_room") await media.setCamera(true);
      await refresh();
    })();
    navigator.mediaDevices.addEventListener("devicechange", refresh);
    return () => {
      live = false;
      navigator.mediaDevices.removeEventListener("devicechange", refresh);
    };
  }, []);

  const callees = ring
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

  async function submit(withRing: boolean): Promise<void> {
    setBusy(true);
    try {
      await onStart({ type, id: id.trim(), name: name.trim(), ring: withRing ? callees : [], video });
    } finally {
      setBusy(false);
    }
  }

  const link = `${location.origin}${joinPath({ type, id })}`;
  return (
    <main class="lobby" data-testid="lobby">
      <section class="card preview-card">
        <div class="preview">
          {view.cameraStream ? (
            <Video stream={view.cameraStream} mirror testid="lobby-preview" />
          ) : (
            <div class="placeholder">{t("lobby.cameraOff")}</div>
          )}
          <div class="preview-controls">
            <button
              class={`round ${view.mic ? "" : "off"}`}
              data-testid="toggle-mic"
              aria-pressed={view.mic}
              title={t(view.mic ? "call.mic.on" : "call.mic.off")}
              onClick={() => media.setMic(!view.mic)}
            >
              <Icon name={view.mic ? "mic" : "micOff"} />
            </button>
            <button
              class={`round ${view.camera ? "" : "off"}`}
              data-testid="toggle-camera"
              aria-pressed={view.camera}
              title={t(view.camera ? "call.camera.on" : "call.camera.off")}
              onClick={() => media.setCamera(!view.camera)}
            >
              <Icon name={view.camera ? "camera" : "cameraOff"} />
            </button>
            <NoiseToggle media={media} on={view.noise} />
          </div>
        </div>
        <div class="meter" data-testid="mic-level" data-level={view.level.toFixed(2)}>
          <div class="meter-fill" style={{ width: `${Math.round(view.level * 100)}%` }} />
        </div>
        <div class="devices">
          <DeviceSelect
            label="lobby.camera"
            testid="camera-select"
            devices={devices.cameras}
            value={view.cameraDeviceId}
            onChange={(deviceId) => media.setCamera(true, deviceId)}
          />
          <DeviceSelect
            label="lobby.microphone"
            testid="mic-select"
            devices={devices.mics}
            value={view.micDeviceId}
            onChange={(deviceId) => media.setMic(view.mic, deviceId)}
          />
          <DeviceSelect
            label="lobby.speaker"
            testid="speaker-select"
            devices={devices.speakers}
            value={view.speakerDeviceId}
            onChange={(deviceId) => media.setSpeaker(deviceId)}
          />
          <button data-testid="test-speaker" onClick={() => playTestTone(view.speakerDeviceId)}>
            {t("lobby.testSpeaker")}
          </button>
        </div>
      </section>

      <section class="card">
        <h1>{t("lobby.title")}</h1>
        <p class="muted" data-testid="signed-in-as">
          {t("lobby.signedInAs", { user: client.userId })}
        </p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void submit(false);
          }}
        >
          <label>
            {t("lobby.callType")}
            <select data-testid="call-type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
              {CALL_TYPES.map((name) => (
                <option value={name} key={name}>
                  {t(`type.${name}` as Key)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("lobby.callId")}
            <span class="row">
              <input
                data-testid="call-id"
                value={id}
                required
                pattern="[A-Za-z0-9_\-]{1,64}"
                onInput={(e) => setId(e.currentTarget.value)}
              />
              <button type="button" data-testid="generate-id" onClick={() => setId(generateCallId())}>
                {t("lobby.generate")}
              </button>
            </span>
          </label>
          <label>
            {t("lobby.displayName")}
            <input
              data-testid="display-name"
              value={name}
              maxLength={255}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </label>
          <button class="primary wide" type="submit" data-testid="join-call" disabled={busy}>
            {t("lobby.join")}
          </button>
          <p class="muted small">
            {t("lobby.link")}:{" "}
            <a href={joinPath({ type, id })} data-testid="call-link">
              {link}
            </a>
          </p>
        </form>
        <fieldset class="ring">
          <label>
            {t("lobby.ringUsers")}
            <input data-testid="ring-users" value={ring} onInput={(e) => setRing(e.currentTarget.value)} />
          </label>
          <label class="inline">
            <input
              type="checkbox"
              data-testid="ring-video"
              checked={video}
              onChange={(e) => setVideo(e.currentTarget.checked)}
            />
            {t("lobby.videoCall")}
          </label>
          <button data-testid="ring-call" disabled={busy || callees.length === 0} onClick={() => submit(true)}>
            {t("lobby.ring")}
          </button>
        </fieldset>
        {error && (
          <p class="error" data-testid="lobby-error">
            {error}
          </p>
        )}
        {ringing.missed.length > 0 && (
          <section data-testid="missed-calls">
            <h2>{t("lobby.missedCalls")}</h2>
            <ul>
              {ringing.missed.map((m) => (
                <li key={m.cid} data-testid="missed-call">
                  {t("lobby.missedFrom", {
                    user: m.caller.name || m.caller.id,
                    time: new Date(m.at).toLocaleTimeString(),
                  })}
                </li>
              ))}
            </ul>
          </section>
        )}
      </section>
    </main>
  );
}

interface SelectProps {
  label: Key;
  testid: string;
  devices: MediaDeviceInfo[];
  value: string;
  onChange: (deviceId: string) => void;
}

function DeviceSelect({ label, testid, devices, value, onChange }: SelectProps) {
  return (
    <label>
      {t(label)}
      <select
        data-testid={testid}
        value={value}
        disabled={devices.length === 0}
        onChange={(e) => onChange(e.currentTarget.value)}
      >
        {devices.map((d, i) => (
          <option value={d.deviceId} key={d.deviceId || i}>
            {d.label || `${t(label)} ${i + 1}`}
          </option>
        ))}
      </select>
    </label>
  );
}

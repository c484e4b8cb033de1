// Local devices: camera, microphone and screen capture, device choice, and the microphone level.

import { NoiseFilter } from "./noise/filter";
import { Store } from "./store";

export interface LocalMediaView {
  mic: boolean;
  camera: boolean;
  screen: boolean;
  micDeviceId: string;
  cameraDeviceId: string;
  speakerDeviceId: string;
  cameraStream: MediaStream | null;
  micStream: MediaStream | null;
  screenStream: MediaStream | null;
  /** Noise cancellation wanted, and the denoised microphone it publishes instead of `micStream`. */
  noise: boolean;
  noiseStream: MediaStream | null;
  /** Microphone level 0..1, measured even while muted (for the "speaking while muted" warning). */
  level: number;
  error: string;
}

export interface Devices {
  cameras: MediaDeviceInfo[];
  mics: MediaDeviceInfo[];
  speakers: MediaDeviceInfo[];
}

const SPEAKING_LEVEL = 0.08;

export async function listDevices(): Promise<Devices> {
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: all.filter((d) => d.kind === "videoinput"),
    mics: all.filter((d) => d.kind === "audioinput"),
    speakers: all.filter((d) => d.kind === "audiooutput"),
  };
}

/** Root-mean-square level of a stream's audio, reported about 10 times a second. */
export class LevelMeter {
  private context: AudioContext | null = null;
  private timer = 0;

  start(stream: MediaStream, report: (level: number) => void): void {
    this.stop();
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.context = context;
    this.timer = window.setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      report(Math.min(1, Math.sqrt(sum / samples.length) * 4));
    }, 100);
  }

  stop(): void {
    window.clearInterval(this.timer);
    void this.context?.close();
    this.context = null;
  }
}

/** Play a short tone on the chosen output device (the lobby's speaker test). */
export async function playTestTone(speakerDeviceId: string): Promise<void> {
  const context = new AudioContext();
  const destination = context.createMediaStreamDestination();
  const oscillator = context.createOscillator();
  oscillator.frequency.value = 440;
  oscillator.connect(destination);
  const audio = new Audio();
  audio.srcObject = destination.stream;
  const sink = audio as HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };
  if (speakerDeviceId && sink.setSinkId) await sink.setSinkId(speakerDeviceId);
  oscillator.start();
  await audio.play().catch(() => undefined);
  window.setTimeout(() => {
    oscillator.stop();
    void context.close();
  }, 600);
}

export class LocalMedia {
  readonly state = new Store<LocalMediaView>({
    mic: false,
    camera: false,
    screen: false,
    micDeviceId: "",
    cameraDeviceId: "",
    speakerDeviceId: "",
    cameraStream: null,
    micStream: null,
    screenStream: null,
    noise: false,
    noiseStream: null,
    level: 0,
    error: "",
  });
  private meter = new LevelMeter();
  private meterTrack: MediaStreamTrack | null = null;
  private noiseFilter: NoiseFilter | null = null;

  get view(): LocalMediaView {
    return this.state.get();
  }

  private patch(change: Partial<LocalMediaView>): void {
    this.state.update((view) => ({ ...view, ...change }));
  }

  async setCamera(on: boolean, deviceId = this.view.cameraDeviceId): Promise<void> {
    stopStream(this.view.cameraStream);
    this.patch({ camera: false, cameraStream: null });
    if (!on) return;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { ...(deviceId ? { deviceId: { exact: deviceId } } : {}), width: 1280, height: 720 },
      });
      const settings = stream.getVideoTracks()[0]?.getSettings();
      this.patch({ camera: true, cameraStream: stream, cameraDeviceId: settings?.deviceId ?? deviceId, error: "" });
    } catch (error) {
      this.patch({ error: String(error) });
    }
  }

  /** The microphone stays captured while muted (its track disabled) so the level meter keeps working. */
  async setMic(on: boolean, deviceId = this.view.micDeviceId): Promise<void> {
    const current = this.view.micStream;
    if (current && deviceId === this.view.micDeviceId) {
      for (const track of current.getAudioTracks()) track.enabled = on;
      this.patch({ mic: on });
      return;
    }
    this.releaseMic();
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: deviceId ? { deviceId: { exact: deviceId } } : true,
      });
      const track = stream.getAudioTracks()[0];
      track.enabled = on;
      this.meterTrack = track.clone();
      this.meterTrack.enabled = true;
      this.meter.start(new MediaStream([this.meterTrack]), (level) => this.patch({ level }));
      this.patch({ mic: on, micStream: stream, micDeviceId: track.getSettings().deviceId ?? deviceId, error: "" });
    } catch (error) {
      this.patch({ mic: false, error: String(error) });
    }
    if (this.view.noise) await this.setNoiseCancellation(true);
  }

  /** Noise cancellation (RNNoise in an AudioWorklet) on the microphone, now and for each microphone after. */
  async setNoiseCancellation(on: boolean): Promise<void> {
    this.stopNoiseFilter();
    this.patch({ noise: on });
    const microphone = this.view.micStream?.getAudioTracks()[0];
    if (!on || !microphone) return;
    try {
      const filter = await NoiseFilter.start(microphone);
      this.noiseFilter = filter;
      this.patch({ noiseStream: filter.stream });
    } catch (error) {
      this.patch({ noise: false, error: String(error) });
    }
  }

  /** RNNoise runs (10 ms each) processed so far, as the worklet last reported (0 while it is off). */
  get noiseRuns(): number {
    return this.noiseFilter?.runs ?? 0;
  }

  private stopNoiseFilter(): void {
    this.noiseFilter?.stop();
    this.noiseFilter = null;
    if (this.view.noiseStream) this.patch({ noiseStream: null });
  }

  async setScreenShare(on: boolean): Promise<void> {
    stopStream(this.view.screenStream);
    this.patch({ screen: false, screenStream: null });
    if (!on) return;
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      stream.getVideoTracks()[0].addEventListener("ended", () => void this.setScreenShare(false));
      this.patch({ screen: true, screenStream: stream });
    } catch (error) {
      this.patch({ error: String(error) });
    }
  }

  setSpeaker(deviceId: string): void {
    this.patch({ speakerDeviceId: deviceId });
  }

  get speakingWhileMuted(): boolean {
    return !this.view.mic && this.view.micStream !== null && this.view.level > SPEAKING_LEVEL;
  }

  private releaseMic(): void {
    this.stopNoiseFilter();
    this.meter.stop();
    this.meterTrack?.stop();
    this.meterTrack = null;
    stopStream(this.view.micStream);
    this.patch({ mic: false, micStream: null, level: 0 });
  }

  release(): void {
    this.releaseMic();
    stopStream(this.view.cameraStream);
    stopStream(this.view.screenStream);
    this.patch({ camera: false, screen: false, cameraStream: null, screenStream: null });
  }
}

function stopStream(stream: MediaStream | null): void {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

// Live closed captions and transcripts of one call: the captioning and transcribing flags, the caption queue (the
// seed's closedCaptionsVisibleCaptions and closedCaptionsVisibilityDurationMs), starting and stopping, the list.

import { splitCid } from "./api";
import type { Call } from "./call";
import { Store } from "./store";
import type { User, WeirEvent } from "./types";

export interface Caption {
  id: string;
  text: string;
  speakerId: string;
  /** The speaker's name (their id when they have none). */
  name: string;
}

export interface CaptionsView {
  captioning: boolean;
  transcribing: boolean;
  captions: Caption[];
}

export interface Transcription {
  filename: string;
  url: string;
  start_time: string;
  end_time: string;
  session_id: string;
}

export interface CaptionQueue {
  visibleCaptions: number;
  visibilityDurationMs: number;
}

/** The seed's defaults (2 captions, 2.7 s each). */
export const DEFAULT_QUEUE: CaptionQueue = { visibleCaptions: 2, visibilityDurationMs: 2700 };

interface ClosedCaption {
  id: string;
  text: string;
  speaker_id: string;
  user: User;
}

const FLAGS: Record<string, Partial<CaptionsView>> = {
  "call.closed_captions_started": { captioning: true },
  "call.closed_captions_stopped": { captioning: false },
  "call.closed_captions_failed": { captioning: false },
  "call.transcription_started": { transcribing: true },
  "call.transcription_stopped": { transcribing: false },
  "call.transcription_failed": { transcribing: false },
};

export class Captions {
  readonly state: Store<CaptionsView>;
  private readonly timers = new Set<number>();
  private readonly stop: () => void;

  constructor(
    private readonly call: Call,
    private readonly queue: CaptionQueue = DEFAULT_QUEUE,
  ) {
    const now = call.view.call;
    this.state = new Store<CaptionsView>({
      captioning: now?.captioning ?? false,
      transcribing: now?.transcribing ?? false,
      captions: [],
    });
    this.stop = call.events.on("*", (event) => this.handle(event));
  }

  private handle(event: WeirEvent): void {
    const flags = FLAGS[event.type];
    if (flags) this.state.update((view) => ({ ...view, ...flags }));
    const caption = (event as WeirEvent & { closed_caption?: ClosedCaption }).closed_caption;
    if (event.type === "call.closed_caption" && caption) this.show(caption);
  }

  private show(caption: ClosedCaption): void {
    const shown: Caption = {
      id: caption.id,
      text: caption.text,
      speakerId: caption.speaker_id,
      name: caption.user.name || caption.speaker_id,
    };
    this.state.update((view) => ({
      ...view,
      captions: [...view.captions, shown].slice(-Math.max(this.queue.visibleCaptions, 1)),
    }));
    const timer = window.setTimeout(() => {
      this.timers.delete(timer);
      this.state.update((view) => ({ ...view, captions: view.captions.filter((c) => c.id !== shown.id) }));
    }, this.queue.visibilityDurationMs);
    this.timers.add(timer);
  }

  /** Start or stop the call's live captions (`start-closed-captions-call` / `stop-closed-captions-call`). */
  async toggle(): Promise<void> {
    const action = this.state.get().captioning ? "stop_closed_captions" : "start_closed_captions";
    await this.call.api.action(this.call.cid, action);
  }

  async transcriptions(): Promise<Transcription[]> {
    const [type, id] = splitCid(this.call.cid);
    const path = `/video/call/${encodeURIComponent(type)}/${encodeURIComponent(id)}/transcriptions`;
    const found = await this.call.api.request<{ transcriptions: Transcription[] }>("GET", path);
    return found.transcriptions;
  }

  dispose(): void {
    this.stop();
    for (const timer of this.timers) window.clearTimeout(timer);
  }
}

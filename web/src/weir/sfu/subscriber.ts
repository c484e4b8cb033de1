// The subscriber peer connection: the SFU offers one m-section per subscribed track (its msid names the
// publishing session and track type), this client answers, and tracks reach the UI by session and type.

import { CandidateQueue, toProtocol } from "./candidates";
import type { SignalChannel } from "./signal";
import type { TrackType } from "./protocol.gen";

export type TrackHandler = (sessionId: string, trackType: TrackType, track: MediaStreamTrack) => void;

/** mid → the session and track type its `a=msid:<session> <session>|<track_type>` names. */
export function tracksOfOffer(sdp: string): Map<string, { sessionId: string; trackType: TrackType }> {
  const found = new Map<string, { sessionId: string; trackType: TrackType }>();
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const mid = /\r?\na=mid:(\S+)/.exec(section)?.[1];
    const msid = /\r?\na=msid:(\S+) (\S+)/.exec(section);
    if (!mid || !msid) continue;
    const split = msid[2].lastIndexOf("|");
    found.set(mid, { sessionId: msid[1], trackType: msid[2].slice(split + 1) as TrackType });
  }
  return found;
}

export class Subscriber {
  readonly pc: RTCPeerConnection;
  readonly candidates: CandidateQueue;
  onTrack: TrackHandler = () => {};
  private mids = new Map<string, { sessionId: string; trackType: TrackType }>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly signal: SignalChannel,
    config: RTCConfiguration,
  ) {
    this.pc = new RTCPeerConnection(config);
    this.candidates = new CandidateQueue(this.pc);
    this.pc.onicecandidate = ({ candidate }) =>
      this.signal.send({ type: "ice_trickle", target: "subscriber", candidate: toProtocol(candidate) });
    this.pc.ontrack = (event) => {
      const owner = this.mids.get(event.transceiver.mid ?? "");
      if (owner) this.onTrack(owner.sessionId, owner.trackType, event.track);
    };
  }

  /** Answer an offer (offers are answered one at a time, in the order they came). */
  answer(sdp: string, negotiationId: number): Promise<void> {
    this.chain = this.chain
      .catch(() => undefined)
      .then(async () => {
        for (const [mid, owner] of tracksOfOffer(sdp)) this.mids.set(mid, owner);
        await this.pc.setRemoteDescription({ type: "offer", sdp });
        this.candidates.flush();
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        this.signal.send({ type: "send_answer", sdp: answer.sdp ?? "", negotiation_id: negotiationId });
      });
    return this.chain;
  }

  close(): void {
    this.pc.close();
  }
}

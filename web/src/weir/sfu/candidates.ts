// ICE candidates from the SFU for one peer connection: applied once its remote description is set, kept until
// then (docs/protocol.md, "Trickle").

import type { IceCandidate } from "./protocol.gen";

export class CandidateQueue {
  private pending: RTCIceCandidateInit[] = [];

  constructor(private readonly pc: RTCPeerConnection) {}

  add(candidate: IceCandidate): void {
    const init = {
      candidate: candidate.candidate,
      sdpMid: candidate.sdp_mid,
      sdpMLineIndex: candidate.sdp_mline_index,
      usernameFragment: candidate.username_fragment,
    };
    if (this.pc.remoteDescription) void this.pc.addIceCandidate(init).catch(() => undefined);
    else this.pending.push(init);
  }

  /** Call after each setRemoteDescription. */
  flush(): void {
    for (const init of this.pending.splice(0)) void this.pc.addIceCandidate(init).catch(() => undefined);
  }
}

/** This side's candidate as the protocol writes it (null: gathering is done). */
export function toProtocol(candidate: RTCIceCandidate | null): IceCandidate | null {
  return (
    candidate && {
      candidate: candidate.candidate,
      sdp_mid: candidate.sdpMid,
      sdp_mline_index: candidate.sdpMLineIndex,
      username_fragment: candidate.usernameFragment,
    }
  );
}

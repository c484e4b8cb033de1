from weir.sfu.audiolevel import BUCKET_MS, SWITCH_RATIO, WINDOW_MS, DominantSpeaker, read_audio_level
from weir.sfu.rtp import RtpHeader, build_packet


def header(extensions: list[tuple[int, bytes]]) -> RtpHeader:
    return RtpHeader.parse(
        build_packet(payload_type=111, sequence_number=1, timestamp=1, ssrc=1, payload=b"o", extensions=extensions)
    )


def test_read_audio_level_returns_the_raw_byte() -> None:
    assert read_audio_level(header([(2, b"x"), (5, b"\x9e")]), 5) == 0x9E
    assert read_audio_level(header([(2, b"x")]), 5) == -1


def talk(picker: DominantSpeaker, speaker: str, level: int, start_ms: int, end_ms: int, voice: bool = True) -> None:
    for now in range(start_ms, end_ms, 20):
        picker.observe(speaker, level, voice, now)


def test_the_louder_sustained_speaker_wins() -> None:
    picker = DominantSpeaker()
    assert picker.pick(0) is None
    talk(picker, "alice", 30, 0, 1000)
    talk(picker, "bob", 50, 0, 1000)
    assert picker.pick(1000) == "alice"


def test_noise_and_unvoiced_packets_do_not_count() -> None:
    picker = DominantSpeaker()
    talk(picker, "alice", 90, 0, 1000)  # quieter than speech
    talk(picker, "bob", 20, 0, 1000, voice=False)
    assert picker.pick(1000) is None
    assert picker.activity("alice", 1000) == picker.activity("bob", 1000) == 0


def test_hysteresis_keeps_the_current_speaker_against_a_slightly_louder_one() -> None:
    picker = DominantSpeaker()
    talk(picker, "alice", 40, 0, 1000)
    assert picker.pick(1000) == "alice"
    talk(picker, "alice", 40, 1000, 3000)
    talk(picker, "bob", 30, 1000, 3000)  # louder over the same window, but not by SWITCH_RATIO
    assert picker.activity("bob", 3000) > picker.activity("alice", 3000)
    assert picker.activity("bob", 3000) < picker.activity("alice", 3000) * SWITCH_RATIO
    assert picker.pick(3000) == "alice"
    talk(picker, "alice", 100, 3000, 5000)  # alice goes quiet
    talk(picker, "bob", 30, 3000, 5000)
    assert picker.pick(5000) == "bob"


def test_activity_leaves_the_window_and_silence_keeps_the_last_speaker() -> None:
    picker = DominantSpeaker()
    talk(picker, "alice", 30, 0, 500)
    assert picker.pick(500) == "alice"
    assert picker.activity("alice", 500 + WINDOW_MS + BUCKET_MS) == 0
    assert picker.pick(10 * WINDOW_MS) == "alice"
    picker.observe("alice", 30, True, 5)  # a straggler from long ago counts for nothing
    assert picker.activity("alice", 10 * WINDOW_MS) == 0


def test_a_late_observation_within_the_window_counts() -> None:
    picker = DominantSpeaker()
    picker.observe("alice", 100, True, 1000)
    picker.observe("alice", 27, True, 900)
    assert picker.activity("alice", 1000) == 100


def test_removed_speakers_are_forgotten() -> None:
    picker = DominantSpeaker()
    talk(picker, "alice", 30, 0, 500)
    talk(picker, "bob", 60, 0, 500)
    assert picker.pick(500) == "alice"
    picker.remove("alice")
    assert picker.dominant is None
    assert picker.activity("alice", 500) == 0
    assert picker.pick(500) == "bob"
    picker.remove("carol")
    assert picker.dominant == "bob"

"""The AI worker (``weir worker ai``, or started by ``weir serve``): claims transcription and caption jobs with
the recording worker's lease machinery (egress/worker.py) and runs each one.

A job joins its call as a hidden participant that receives audio only, listens to each speaker on their own
(``listener``), and runs the speech engine in a process of its own, one segment at a time. A caption job sends each
finished caption to the coordinator, which emits ``call.closed_caption``; a transcription job appends it to the JSONL
transcript in the job's folder, which is stored (or uploaded) once at the end, as a recording's files are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import httpx

from weir.ai import engine_process
from weir.ai.listener import FRAME_BACKLOG, Listener, Utterance
from weir.ai.speech import SpeechConfig
from weir.ai.transcript import Transcript
from weir.client import SfuTrackType, StreamVideo, StreamVideoOptions, User
from weir.config import Settings
from weir.egress.worker import Channel, JobFailed, Record, run_worker
from weir.protocol.egress_channel import ClaimedJob as Job
from weir.protocol.transcriptions import AI_KINDS

log = logging.getLogger(__name__)
LOOK_SECONDS = 0.2  # how often new speakers are looked for
DEFAULT_LANGUAGE = "en"  # every call type's, unless set


class Engines:
    """The worker process's speech engines, in a process of their own (``engine_process``) shared by its jobs:
    each model loads once, and segments are transcribed one at a time."""

    def __init__(self, config: SpeechConfig) -> None:
        self.config = config
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=engine_process.die_with_parent)
        self.ready: set[str] = set()

    async def load(self, language: str) -> None:
        if language in self.ready:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(self.pool, engine_process.load, language, self.config)
        except engine_process.NoEngine as error:
            raise JobFailed(str(error)) from error
        self.ready.add(language)

    async def transcribe(self, pcm: bytes, language: str) -> str:
        await self.load(language)
        return await asyncio.get_running_loop().run_in_executor(
            self.pool, engine_process.transcribe, language, self.config, pcm)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class Speech:
    """Turns the speakers' segments into text, one at a time, and hands each piece on: to the coordinator as a
    caption, or to the transcript."""

    def __init__(self, channel: Channel, job: Job, engines: Engines, transcript: Transcript | None) -> None:
        self.channel, self.job, self.engines, self.transcript = channel, job, engines, transcript
        self.queue: asyncio.Queue[Utterance] = asyncio.Queue()

    async def run(self) -> None:
        while True:
            utterance = await self.queue.get()
            try:
                language = str(self.job.options["language"])  # the heartbeat brings a new one
                text = (await self.engines.transcribe(utterance.pcm, language)).strip()
                if text:
                    await self._hand_on(utterance, text, language)
            finally:
                self.queue.task_done()

    async def _hand_on(self, utterance: Utterance, text: str, language: str) -> None:
        if self.transcript is not None:
            self.transcript.write(utterance.start, utterance.end, utterance.speaker_id, text)
            return
        caption = {"speaker_id": utterance.speaker_id, "text": text, "language": language,
                   "start_time": utterance.start.isoformat(), "end_time": utterance.end.isoformat()}
        try:
            await self.channel.post(f"/{self.job.egress_id}/captions", captions=[caption])
        except httpx.HTTPError as error:
            log.warning("a caption of %s was lost: %s", self.job.call_cid, error)


async def transcribe(engines: Engines, channel: Channel, settings: Settings, job: Job, directory: Path,
                     stop: asyncio.Event) -> None:
    """Listen to the call until asked to stop, then finish every segment heard so far."""
    assert settings.api_key is not None
    await engines.load(str(job.options["language"]))  # an unsupported language fails the job at once
    transcript = Transcript(directory / f"transcript_{job.egress_id}.jsonl") \
        if job.recording_type == "transcription" else None
    speech = Speech(channel, job, engines, transcript)
    working = asyncio.create_task(speech.run())
    client = StreamVideo.create(settings.api_key, user=User.anonymous(), user_token=job.token,
                                options=StreamVideoOptions(coordinator_rpc_url=settings.public_base_url))
    listeners: dict[str, tuple[Listener, asyncio.Task[None]]] = {}
    epoch = time.time()
    stopping = asyncio.ensure_future(stop.wait())
    try:
        call_type, _, call_id = job.call_cid.partition(":")
        call = client.make_call(call_type, call_id)
        await call.join()
        await call.set_incoming_video_enabled(False)  # audio only
        while not stop.is_set() and not working.done():
            for participant in call.state.value.other_participants:
                if participant.is_audio_enabled and participant.session_id not in listeners:
                    listener = Listener(participant.user_id,
                                        call.frames(participant, SfuTrackType.AUDIO, maxsize=FRAME_BACKLOG),
                                        job.options["speech_segment_config"], speech.queue, epoch)
                    listeners[participant.session_id] = (listener, asyncio.create_task(listener.run()))
                    log.info("%s of %s: listening to %s", job.recording_type, job.call_cid, participant.user_id)
            await asyncio.wait({stopping, working}, timeout=LOOK_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        for listener, task in listeners.values():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            listener.flush()
        drained = asyncio.ensure_future(speech.queue.join())
        await asyncio.wait({drained, working}, return_when=asyncio.FIRST_COMPLETED)
        drained.cancel()
        if working.done():
            working.result()  # a language no engine speaks: JobFailed
    finally:
        stopping.cancel()
        working.cancel()
        with contextlib.suppress(asyncio.CancelledError, JobFailed):
            await working
        if transcript is not None:
            transcript.close()
        with contextlib.suppress(Exception):
            await client.disconnect()


async def run_ai_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Load the default language's engine, then claim and run transcription and caption jobs until ``stop``."""
    engines = Engines(SpeechConfig.from_settings(settings))
    try:
        with contextlib.suppress(JobFailed):  # no engine for it: each job says so
            await engines.load(DEFAULT_LANGUAGE)

        def choose(channel: Channel, job: Job) -> Record:
            return partial(transcribe, engines, channel)

        await run_worker(settings, stop, list(AI_KINDS), choose)
    finally:
        engines.close()

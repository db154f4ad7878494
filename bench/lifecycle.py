"""(b) Sessionflow's full lifecycle through the real worker and the Stripe stand-in.

book → charge at T − 48 h → session end → attendance update (attended, same time next week, the
client agreed) → follow-up booked (a child SessionWorkflow) → session completed.

All durations come from a compressed ``SessionPolicy`` (48 h → a few seconds) and every session
shares one start time, so each step is a *storm* the server and worker process at full speed:

1. **book**: the driver books N sessions, 50 at a time, through ``book_session`` (the same call
   the API makes);
2. **charge**: all N charge timers fire at T_c = start − C; the step ends for a session when its
   ``charge_succeeded`` notification reaches the bench's sink (the system's own output: nothing
   polls Temporal);
3. **end + attendance**: at the session end every end timer fires and the driver sends the N
   attendance updates, 50 at a time, each awaited to the follow-up's id and then to the
   session's completion.

The waits between the storms are the policy's (the 1-minute minimum session, the notice before
the charge), not work: sessions/s is N over the sum of the three busy windows.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from bench.actions import count_actions
from bench.lanes import Phase, run_lanes
from bench.sink import TimingSink
from bench.stack import Usage, usage
from contract.ids import practice_workflow_id, session_workflow_id
from domain.attendance import AttendanceOutcome, AttendanceUpdate, ContinueChoice
from domain.booking import SessionBooking
from domain.ids import follow_up_session_id
from domain.notifications import NotificationType
from domain.policy import SessionPolicy
from domain.status import BookingKind
from temporal_client.session_client import book_session, session_handle
from workflows.session import SessionWorkflow

SESSION_MINUTES = 1  # the shortest session a booking can carry (whole minutes)
REAL_SESSION_MINUTES = 50  # sessions booked under the default policy (minimum 15 minutes)
ITEM_TIMEOUT = 180.0
WARMUP_SESSIONS = 20
"""Parked sessions booked before the measured ones: the worker's first runs import and compile the
workflow modules, which must not count as memory of the measured sessions (the baseline's memory
reading is warmed the same way)."""
BOOKING_MARGIN_SECONDS = 5.0
STORM_TIMEOUT_SECONDS = 300.0
SAMPLE_PATHS = 3


def compressed_policy(charge_offset: timedelta) -> SessionPolicy:
    """Hours become seconds for the charge schedule; reminders stay at their real offsets, because
    in real life the update arrives before them (they are started and cancelled, as here)."""
    return SessionPolicy(
        free_cancellation_notice=charge_offset,
        charge_attempt_offsets=(charge_offset, charge_offset / 2, charge_offset / 4),
        auto_cancel_before=charge_offset / 8,
        min_duration=timedelta(minutes=SESSION_MINUTES),
    )


def therapists_for(sessions: int, per_therapist: int) -> int:
    return max(1, -(-sessions // per_therapist))


def make_booking(
    prefix: str, index: int, start: datetime, therapists: int, minutes: int = SESSION_MINUTES
) -> SessionBooking:
    """A therapist follow-up the client agreed to: charged off-session at start − 48 h.

    Therapists take turns (round robin), as bookings from a whole marketplace would: consecutive
    bookings for one therapist would queue on its practice workflow, which accepts at most 10
    in-flight updates (the server's per-workflow limit) and refuses the 11th.
    """
    return SessionBooking(
        session_id=f"{prefix}_{index}",
        therapist_id=f"{prefix}_t{index % therapists}",
        client_id=f"{prefix}_c{index}",
        kind=BookingKind.THERAPIST_FOLLOW_UP,
        start=start,
        duration_minutes=minutes,
        therapist_timezone="Europe/London",
        amount_minor=6000,
        currency="gbp",
        stripe_customer_id=f"cus_{prefix}_{index}",
        # Unique per session so the stand-in's idempotency and card state never collide.
        payment_method_id=f"pm_card_visa_{prefix}_{index}",
        client_agreed=True,
    )


@dataclass(frozen=True)
class Window:
    """One busy window: its length and the CPU the server and the worker spent in it."""

    name: str
    seconds: float
    server_cpu_seconds: float
    worker_cpu_seconds: float


def window(name: str, server: tuple[Usage, Usage], worker: tuple[Usage, Usage], seconds: float) -> Window:
    return Window(
        name,
        seconds,
        server[1].cpu_seconds - server[0].cpu_seconds,
        worker[1].cpu_seconds - worker[0].cpu_seconds,
    )


@dataclass(frozen=True)
class Lifecycle:
    sessions: int
    concurrency: int
    per_therapist: int
    charge_offset_seconds: float
    book: Phase
    attendance: Phase
    windows: tuple[Window, ...]
    charged: int
    charged_before_timer: int
    follow_ups_booked: int
    worker_rss_before: int
    worker_rss_parked: int
    worker_rss_charged: int
    actions: dict[str, dict[str, object]]

    @property
    def busy_seconds(self) -> float:
        return sum(w.seconds for w in self.windows)

    @property
    def per_second(self) -> float:
        return self.attendance.ok / self.busy_seconds if self.busy_seconds else 0.0

    @property
    def server_cpu_cores(self) -> float:
        return sum(w.server_cpu_seconds for w in self.windows) / self.busy_seconds

    @property
    def worker_cpu_cores(self) -> float:
        return sum(w.worker_cpu_seconds for w in self.windows) / self.busy_seconds

    @property
    def cpu_seconds_per_session(self) -> float:
        total = sum(w.server_cpu_seconds + w.worker_cpu_seconds for w in self.windows)
        return total / max(self.attendance.ok, 1)

    @property
    def rss_per_session_parked(self) -> float:
        return (self.worker_rss_parked - self.worker_rss_before) / self.sessions

    @property
    def rss_per_session_charged(self) -> float:
        return (self.worker_rss_charged - self.worker_rss_before) / self.sessions


async def sleep_until(deadline: float) -> None:
    """Wait for a point on the monotonic clock: the driver waits by clock, never by polling."""
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))


async def run_lifecycle(
    client: Client,
    task_queue: str,
    sink: TimingSink,
    *,
    sessions: int,
    concurrency: int,
    per_therapist: int,
    charge_offset: timedelta,
    booking_rate_guess: float,
    server_pid: int,
    worker_pid: int,
) -> Lifecycle:
    run = uuid.uuid4().hex[:8]
    policy = compressed_policy(charge_offset)

    async def warm(index: int) -> float | None:
        now = datetime.now(UTC)
        # An hour apart: one therapist holds one session at a time (the practice claims each).
        start = now + timedelta(days=30, hours=index)
        therapists = therapists_for(WARMUP_SESSIONS, per_therapist)
        booking = make_booking(f"lw{run}", index, start, therapists, REAL_SESSION_MINUTES)
        await book_session(client, booking, task_queue=task_queue, now=now)
        return None

    await run_lanes("warm-up", WARMUP_SESSIONS, concurrency, warm, timeout=ITEM_TIMEOUT)
    await asyncio.sleep(2)
    rss_before = usage(worker_pid).rss_bytes

    # One start for every session, far enough ahead that all bookings precede the charge time.
    book_guess = sessions / max(booking_rate_guess, 1.0)
    mono0, wall0 = time.monotonic(), datetime.now(UTC)
    charge_mono = mono0 + book_guess + BOOKING_MARGIN_SECONDS
    start = (wall0 + timedelta(seconds=charge_mono - mono0) + charge_offset).replace(microsecond=0)
    charge_mono = mono0 + (start - charge_offset - wall0).total_seconds()
    end_mono = mono0 + (start + timedelta(minutes=SESSION_MINUTES) - wall0).total_seconds()
    prefix = f"lc{run}"

    async def book(index: int) -> float | None:
        await book_session(
            client,
            # Every session of the storm starts at one instant, so each has its own therapist: a
            # therapist holds one session at a time (a second booking would be time_taken).
            make_booking(prefix, index, start, therapists=sessions),
            task_queue=task_queue,
            now=datetime.now(UTC),
            policy=policy,
        )
        return None

    s0, w0 = usage(server_pid), usage(worker_pid)
    booked = await run_lanes("book", sessions, concurrency, book, timeout=ITEM_TIMEOUT)
    s1, w1 = usage(server_pid), usage(worker_pid)
    windows = [window("book", (s0, s1), (w0, w1), booked.seconds)]

    await sleep_until(charge_mono - 1.0)
    rss_parked = usage(worker_pid).rss_bytes
    await sleep_until(charge_mono)
    charged_early = len(sink.of_type(NotificationType.CHARGE_SUCCEEDED.value, mono0))
    s2, w2 = usage(server_pid), usage(worker_pid)
    await sink.reach(
        NotificationType.CHARGE_SUCCEEDED.value,
        booked.ok,
        since=mono0,
        timeout=max(1.0, end_mono - time.monotonic() - 1.0),
    )
    charges = sink.of_type(NotificationType.CHARGE_SUCCEEDED.value, mono0)
    charge_done = max((a.at for a in charges), default=charge_mono)
    s3, w3 = usage(server_pid), usage(worker_pid)
    windows.append(window("charge", (s2, s3), (w2, w3), max(charge_done - charge_mono, 0.0)))

    await sleep_until(end_mono - 0.5)
    rss_charged = usage(worker_pid).rss_bytes
    await sleep_until(end_mono)
    update = AttendanceUpdate(
        outcome=AttendanceOutcome.ATTENDED, continue_sessions=ContinueChoice.SAME_TIME, client_agreed=True
    )
    follow_ups = 0

    async def attend(index: int) -> float | None:
        nonlocal follow_ups
        handle = session_handle(client, f"{prefix}_{index}")
        began = time.perf_counter()
        result = await handle.execute_update(
            SessionWorkflow.file_attendance,
            update.model_copy(update={"received_at": datetime.now(UTC)}),
            id=f"attendance-{index}",
        )
        latency = time.perf_counter() - began
        if result.follow_up_session_id is None:
            raise RuntimeError(f"no follow-up booked: {result.incomplete_effects}")
        follow_ups += 1
        await handle.result()  # a long poll on the close event, not a loop
        return latency

    s4, w4 = usage(server_pid), usage(worker_pid)
    attended = await run_lanes("attendance", booked.ok, concurrency, attend, timeout=ITEM_TIMEOUT)
    s5, w5 = usage(server_pid), usage(worker_pid)
    windows.append(window("end+attendance", (s4, s5), (w4, w5), attended.seconds))

    return Lifecycle(
        sessions=sessions,
        concurrency=concurrency,
        per_therapist=1,
        charge_offset_seconds=charge_offset.total_seconds(),
        book=booked,
        attendance=attended,
        windows=tuple(windows),
        charged=len(charges),
        charged_before_timer=charged_early,
        follow_ups_booked=follow_ups,
        worker_rss_before=rss_before,
        worker_rss_parked=rss_parked,
        worker_rss_charged=rss_charged,
        actions=await sample_actions(client, prefix, 1),
    )


async def sample_actions(client: Client, prefix: str, per_therapist: int) -> dict[str, dict[str, object]]:
    """Actions counted from real histories of a few sessions (after the run: not the hot path)."""
    paths: dict[str, list[str]] = {"session lifecycle": [], "follow-up (parked)": []}
    for index in range(SAMPLE_PATHS):
        session_id = f"{prefix}_{index}"
        paths["session lifecycle"].append(session_workflow_id(session_id))
        paths["follow-up (parked)"].append(session_workflow_id(follow_up_session_id(session_id)))
    counted = {name: await actions_of(client, ids) for name, ids in paths.items()}
    practice = await actions_of(client, [practice_workflow_id(f"{prefix}_t0")])
    # The practice's Actions are shared by its sessions: its start once, then per booking.
    practice["per_session"] = round(int(str(practice["total"])) / per_therapist, 2)
    counted[f"practice ({per_therapist} sessions)"] = practice
    return counted


async def actions_of(client: Client, workflow_ids: list[str]) -> dict[str, object]:
    """Actions of each history (they should agree) and the kinds of the first."""
    totals: list[int] = []
    kinds: dict[str, int] = {}
    for workflow_id in workflow_ids:
        history = await asyncio.wait_for(client.get_workflow_handle(workflow_id).fetch_history(), 30)
        total, by_kind, _ = count_actions(history)
        totals.append(total)
        kinds = kinds or {kind.lower(): n for kind, n in sorted(by_kind.items())}
    return {"total": totals[0], "all_samples": totals, "by_kind": kinds}


__all__ = ["Lifecycle", "run_lifecycle"]

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.booking_kind import BookingKind
from ..models.session_status import SessionStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.attendance_record import AttendanceRecord
    from ..models.attendance_result import AttendanceResult
    from ..models.cancellation_record import CancellationRecord
    from ..models.dispute_record import DisputeRecord
    from ..models.no_show_record import NoShowRecord
    from ..models.payment_ledger import PaymentLedger
    from ..models.reschedule_record import RescheduleRecord


T = TypeVar("T", bound="SessionState")


@_attrs_define
class SessionState:
    """
    Attributes:
        session_id (str):
        therapist_id (str):
        client_id (str):
        kind (BookingKind): How a session came to be booked: it decides who books it and when it is charged. The client
            books `initial_prepaid` and `client_follow_up`, the therapist `therapist_follow_up` and
            `therapist_manual` (with the client's agreement), an admin any kind; another party is `409
            not_allowed`. `initial_prepaid` was paid at checkout; `client_follow_up` is charged at once,
            while the client is present; a therapist's kind off-session 48 hours before the start (at once
            when booked inside that window).
        status (SessionStatus): Where a session stands.
        start (datetime.datetime):
        end (datetime.datetime):
        therapist_timezone (str):
        payment (PaymentLedger): Everything the session knows about its money; the workflow's single source for it.
        client_timezone (None | str | Unset):
        cancellation (CancellationRecord | None | Unset):
        reschedules (list[RescheduleRecord] | Unset):
        attendance (AttendanceRecord | None | Unset):
        attendance_result (AttendanceResult | None | Unset):
        no_show (None | NoShowRecord | Unset):
        reminders_sent (int | Unset):  Default: 0.
        tzdata_version (None | str | Unset):
        dispute (DisputeRecord | None | Unset):
        disputes (list[DisputeRecord] | Unset):
    """

    session_id: str
    therapist_id: str
    client_id: str
    kind: BookingKind
    status: SessionStatus
    start: datetime.datetime
    end: datetime.datetime
    therapist_timezone: str
    payment: PaymentLedger
    client_timezone: None | str | Unset = UNSET
    cancellation: CancellationRecord | None | Unset = UNSET
    reschedules: list[RescheduleRecord] | Unset = UNSET
    attendance: AttendanceRecord | None | Unset = UNSET
    attendance_result: AttendanceResult | None | Unset = UNSET
    no_show: None | NoShowRecord | Unset = UNSET
    reminders_sent: int | Unset = 0
    tzdata_version: None | str | Unset = UNSET
    dispute: DisputeRecord | None | Unset = UNSET
    disputes: list[DisputeRecord] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.attendance_record import AttendanceRecord  # noqa: PLC0415
        from ..models.attendance_result import AttendanceResult  # noqa: PLC0415
        from ..models.cancellation_record import CancellationRecord  # noqa: PLC0415
        from ..models.dispute_record import DisputeRecord  # noqa: PLC0415
        from ..models.no_show_record import NoShowRecord  # noqa: PLC0415

        session_id = self.session_id

        therapist_id = self.therapist_id

        client_id = self.client_id

        kind = self.kind.value

        status = self.status.value

        start = self.start.isoformat()

        end = self.end.isoformat()

        therapist_timezone = self.therapist_timezone

        payment = self.payment.to_dict()

        client_timezone: None | str | Unset
        if isinstance(self.client_timezone, Unset):
            client_timezone = UNSET
        else:
            client_timezone = self.client_timezone

        cancellation: dict[str, Any] | None | Unset
        if isinstance(self.cancellation, Unset):
            cancellation = UNSET
        elif isinstance(self.cancellation, CancellationRecord):
            cancellation = self.cancellation.to_dict()
        else:
            cancellation = self.cancellation

        reschedules: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.reschedules, Unset):
            reschedules = []
            for reschedules_item_data in self.reschedules:
                reschedules_item = reschedules_item_data.to_dict()
                reschedules.append(reschedules_item)

        attendance: dict[str, Any] | None | Unset
        if isinstance(self.attendance, Unset):
            attendance = UNSET
        elif isinstance(self.attendance, AttendanceRecord):
            attendance = self.attendance.to_dict()
        else:
            attendance = self.attendance

        attendance_result: dict[str, Any] | None | Unset
        if isinstance(self.attendance_result, Unset):
            attendance_result = UNSET
        elif isinstance(self.attendance_result, AttendanceResult):
            attendance_result = self.attendance_result.to_dict()
        else:
            attendance_result = self.attendance_result

        no_show: dict[str, Any] | None | Unset
        if isinstance(self.no_show, Unset):
            no_show = UNSET
        elif isinstance(self.no_show, NoShowRecord):
            no_show = self.no_show.to_dict()
        else:
            no_show = self.no_show

        reminders_sent = self.reminders_sent

        tzdata_version: None | str | Unset
        if isinstance(self.tzdata_version, Unset):
            tzdata_version = UNSET
        else:
            tzdata_version = self.tzdata_version

        dispute: dict[str, Any] | None | Unset
        if isinstance(self.dispute, Unset):
            dispute = UNSET
        elif isinstance(self.dispute, DisputeRecord):
            dispute = self.dispute.to_dict()
        else:
            dispute = self.dispute

        disputes: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.disputes, Unset):
            disputes = []
            for disputes_item_data in self.disputes:
                disputes_item = disputes_item_data.to_dict()
                disputes.append(disputes_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "session_id": session_id,
                "therapist_id": therapist_id,
                "client_id": client_id,
                "kind": kind,
                "status": status,
                "start": start,
                "end": end,
                "therapist_timezone": therapist_timezone,
                "payment": payment,
            }
        )
        if client_timezone is not UNSET:
            field_dict["client_timezone"] = client_timezone
        if cancellation is not UNSET:
            field_dict["cancellation"] = cancellation
        if reschedules is not UNSET:
            field_dict["reschedules"] = reschedules
        if attendance is not UNSET:
            field_dict["attendance"] = attendance
        if attendance_result is not UNSET:
            field_dict["attendance_result"] = attendance_result
        if no_show is not UNSET:
            field_dict["no_show"] = no_show
        if reminders_sent is not UNSET:
            field_dict["reminders_sent"] = reminders_sent
        if tzdata_version is not UNSET:
            field_dict["tzdata_version"] = tzdata_version
        if dispute is not UNSET:
            field_dict["dispute"] = dispute
        if disputes is not UNSET:
            field_dict["disputes"] = disputes

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.attendance_record import AttendanceRecord  # noqa: PLC0415
        from ..models.attendance_result import AttendanceResult  # noqa: PLC0415
        from ..models.cancellation_record import CancellationRecord  # noqa: PLC0415
        from ..models.dispute_record import DisputeRecord  # noqa: PLC0415
        from ..models.no_show_record import NoShowRecord  # noqa: PLC0415
        from ..models.payment_ledger import PaymentLedger  # noqa: PLC0415
        from ..models.reschedule_record import RescheduleRecord  # noqa: PLC0415

        d = dict(src_dict)
        session_id = d.pop("session_id")

        therapist_id = d.pop("therapist_id")

        client_id = d.pop("client_id")

        kind = BookingKind(d.pop("kind"))

        status = SessionStatus(d.pop("status"))

        start = datetime.datetime.fromisoformat(d.pop("start"))

        end = datetime.datetime.fromisoformat(d.pop("end"))

        therapist_timezone = d.pop("therapist_timezone")

        payment = PaymentLedger.from_dict(d.pop("payment"))

        def _parse_client_timezone(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        client_timezone = _parse_client_timezone(d.pop("client_timezone", UNSET))

        def _parse_cancellation(data: object) -> CancellationRecord | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                cancellation_type_0 = CancellationRecord.from_dict(data)

                return cancellation_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CancellationRecord | None | Unset, data)

        cancellation = _parse_cancellation(d.pop("cancellation", UNSET))

        _reschedules = d.pop("reschedules", UNSET)
        reschedules: list[RescheduleRecord] | Unset = UNSET
        if _reschedules is not UNSET:
            reschedules = []
            for reschedules_item_data in _reschedules:
                reschedules_item = RescheduleRecord.from_dict(reschedules_item_data)

                reschedules.append(reschedules_item)

        def _parse_attendance(data: object) -> AttendanceRecord | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                attendance_type_0 = AttendanceRecord.from_dict(data)

                return attendance_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AttendanceRecord | None | Unset, data)

        attendance = _parse_attendance(d.pop("attendance", UNSET))

        def _parse_attendance_result(data: object) -> AttendanceResult | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                attendance_result_type_0 = AttendanceResult.from_dict(data)

                return attendance_result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AttendanceResult | None | Unset, data)

        attendance_result = _parse_attendance_result(d.pop("attendance_result", UNSET))

        def _parse_no_show(data: object) -> None | NoShowRecord | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                no_show_type_0 = NoShowRecord.from_dict(data)

                return no_show_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | NoShowRecord | Unset, data)

        no_show = _parse_no_show(d.pop("no_show", UNSET))

        reminders_sent = d.pop("reminders_sent", UNSET)

        def _parse_tzdata_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        tzdata_version = _parse_tzdata_version(d.pop("tzdata_version", UNSET))

        def _parse_dispute(data: object) -> DisputeRecord | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                dispute_type_0 = DisputeRecord.from_dict(data)

                return dispute_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DisputeRecord | None | Unset, data)

        dispute = _parse_dispute(d.pop("dispute", UNSET))

        _disputes = d.pop("disputes", UNSET)
        disputes: list[DisputeRecord] | Unset = UNSET
        if _disputes is not UNSET:
            disputes = []
            for disputes_item_data in _disputes:
                disputes_item = DisputeRecord.from_dict(disputes_item_data)

                disputes.append(disputes_item)

        session_state = cls(
            session_id=session_id,
            therapist_id=therapist_id,
            client_id=client_id,
            kind=kind,
            status=status,
            start=start,
            end=end,
            therapist_timezone=therapist_timezone,
            payment=payment,
            client_timezone=client_timezone,
            cancellation=cancellation,
            reschedules=reschedules,
            attendance=attendance,
            attendance_result=attendance_result,
            no_show=no_show,
            reminders_sent=reminders_sent,
            tzdata_version=tzdata_version,
            dispute=dispute,
            disputes=disputes,
        )

        session_state.additional_properties = d
        return session_state

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties

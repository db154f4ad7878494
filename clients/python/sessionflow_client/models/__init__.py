"""Contains all the data models used in inputs/outputs"""

from .acting_party import ActingParty
from .actor import Actor
from .attendance_body import AttendanceBody
from .attendance_outcome import AttendanceOutcome
from .attendance_record import AttendanceRecord
from .attendance_result import AttendanceResult
from .attendance_update import AttendanceUpdate
from .audience import Audience
from .book_session_body import BookSessionBody
from .book_session_body_currency import BookSessionBodyCurrency
from .booking_kind import BookingKind
from .booking_response import BookingResponse
from .cancel_body import CancelBody
from .cancel_preview import CancelPreview
from .cancel_reason import CancelReason
from .cancel_result import CancelResult
from .cancellation_record import CancellationRecord
from .channel import Channel
from .charge_attempt import ChargeAttempt
from .charge_outcome import ChargeOutcome
from .clients_list import ClientsList
from .codec_payload import CodecPayload
from .codec_payload_metadata import CodecPayloadMetadata
from .codec_payloads import CodecPayloads
from .commission_rates import CommissionRates
from .continue_choice import ContinueChoice
from .decline_kind import DeclineKind
from .dispute_evidence import DisputeEvidence
from .dispute_record import DisputeRecord
from .dispute_status import DisputeStatus
from .end_reason import EndReason
from .end_relationship_body import EndRelationshipBody
from .erasure_body import ErasureBody
from .erasure_view import ErasureView
from .error_body import ErrorBody
from .error_body_fields_type_0_item import ErrorBodyFieldsType0Item
from .extra_payment import ExtraPayment
from .health import Health
from .http_validation_error import HTTPValidationError
from .iana_zone import IanaZone
from .no_show_body import NoShowBody
from .no_show_record import NoShowRecord
from .no_show_result import NoShowResult
from .notification import Notification
from .notification_codes import NotificationCodes
from .notification_type import NotificationType
from .payment_account_body import PaymentAccountBody
from .payment_account_set import PaymentAccountSet
from .payment_account_view import PaymentAccountView
from .payment_ledger import PaymentLedger
from .payment_method_body import PaymentMethodBody
from .payment_method_response import PaymentMethodResponse
from .payment_status import PaymentStatus
from .receive_stripe_webhook_body import ReceiveStripeWebhookBody
from .refund_body import RefundBody
from .refund_grant import RefundGrant
from .refund_reason import RefundReason
from .refund_record import RefundRecord
from .relationship import Relationship
from .relationship_ended_response import RelationshipEndedResponse
from .relationship_event import RelationshipEvent
from .relationship_event_kind import RelationshipEventKind
from .relationship_restarted import RelationshipRestarted
from .relationship_status import RelationshipStatus
from .reschedule_body import RescheduleBody
from .reschedule_preview import ReschedulePreview
from .reschedule_record import RescheduleRecord
from .reschedule_result import RescheduleResult
from .reserve_slot_body import ReserveSlotBody
from .session_refund_result import SessionRefundResult
from .session_state import SessionState
from .session_status import SessionStatus
from .session_status_view import SessionStatusView
from .session_timeline import SessionTimeline
from .slot_occurrence import SlotOccurrence
from .slot_occurrences import SlotOccurrences
from .slot_reserved import SlotReserved
from .slots_released import SlotsReleased
from .timeline_event import TimelineEvent
from .timeline_event_detail import TimelineEventDetail
from .validation_error import ValidationError
from .validation_error_context import ValidationErrorContext
from .webhook_ack import WebhookAck
from .weekly_slot_rule import WeeklySlotRule

__all__ = (
    "ActingParty",
    "Actor",
    "AttendanceBody",
    "AttendanceOutcome",
    "AttendanceRecord",
    "AttendanceResult",
    "AttendanceUpdate",
    "Audience",
    "BookingKind",
    "BookingResponse",
    "BookSessionBody",
    "BookSessionBodyCurrency",
    "CancelBody",
    "CancellationRecord",
    "CancelPreview",
    "CancelReason",
    "CancelResult",
    "Channel",
    "ChargeAttempt",
    "ChargeOutcome",
    "ClientsList",
    "CodecPayload",
    "CodecPayloadMetadata",
    "CodecPayloads",
    "CommissionRates",
    "ContinueChoice",
    "DeclineKind",
    "DisputeEvidence",
    "DisputeRecord",
    "DisputeStatus",
    "EndReason",
    "EndRelationshipBody",
    "ErasureBody",
    "ErasureView",
    "ErrorBody",
    "ErrorBodyFieldsType0Item",
    "ExtraPayment",
    "Health",
    "HTTPValidationError",
    "IanaZone",
    "NoShowBody",
    "NoShowRecord",
    "NoShowResult",
    "Notification",
    "NotificationCodes",
    "NotificationType",
    "PaymentAccountBody",
    "PaymentAccountSet",
    "PaymentAccountView",
    "PaymentLedger",
    "PaymentMethodBody",
    "PaymentMethodResponse",
    "PaymentStatus",
    "ReceiveStripeWebhookBody",
    "RefundBody",
    "RefundGrant",
    "RefundReason",
    "RefundRecord",
    "Relationship",
    "RelationshipEndedResponse",
    "RelationshipEvent",
    "RelationshipEventKind",
    "RelationshipRestarted",
    "RelationshipStatus",
    "RescheduleBody",
    "ReschedulePreview",
    "RescheduleRecord",
    "RescheduleResult",
    "ReserveSlotBody",
    "SessionRefundResult",
    "SessionState",
    "SessionStatus",
    "SessionStatusView",
    "SessionTimeline",
    "SlotOccurrence",
    "SlotOccurrences",
    "SlotReserved",
    "SlotsReleased",
    "TimelineEvent",
    "TimelineEventDetail",
    "ValidationError",
    "ValidationErrorContext",
    "WebhookAck",
    "WeeklySlotRule",
)

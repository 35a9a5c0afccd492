"""Every HTTP route of the API: which function serves it, its metric name, whether it needs a caller.

Pure data, shared by the CDK app (which builds API Gateway resources from it) and the Lambda
code (which names metrics from it). A test checks each function's resolver against this list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    endpoint: str
    authenticated: bool = True


ROUTES: tuple[Route, ...] = (
    Route("GET", "/health/live", "health", "HealthLive", authenticated=False),
    Route("GET", "/health/ready", "health", "HealthReady", authenticated=False),
    Route("POST", "/v1/auth/register", "accounts", "Register", authenticated=False),
    Route("POST", "/v1/auth/login", "accounts", "Login", authenticated=False),
    Route("POST", "/v1/auth/respond-to-challenge", "accounts", "RespondToChallenge", authenticated=False),
    Route("POST", "/v1/auth/confirm", "accounts", "ConfirmEmail", authenticated=False),
    Route("POST", "/v1/auth/resend-code", "accounts", "ResendCode", authenticated=False),
    Route("POST", "/v1/auth/refresh", "accounts", "RefreshToken", authenticated=False),
    Route("POST", "/v1/auth/logout", "accounts", "Logout"),
    Route("POST", "/v1/auth/forgot-password", "accounts", "ForgotPassword", authenticated=False),
    Route("POST", "/v1/auth/reset-password", "accounts", "ResetPassword", authenticated=False),
    Route("GET", "/v1/users/me", "accounts", "GetMe"),
    Route("POST", "/v1/loans", "loans", "CreateLoan"),
    Route("GET", "/v1/loans/my-loans", "loans", "GetMyLoans"),
    Route("GET", "/v1/loans/{loan_id}", "loans", "GetLoan"),
    Route("POST", "/v1/loans/{loan_id}/lenders", "loans", "AddLenders"),
    Route("PATCH", "/v1/loans/{loan_id}", "loans", "UpdateLoan"),
    Route("DELETE", "/v1/loans/{loan_id}", "loans", "CancelLoan"),
    Route("DELETE", "/v1/loans/{loan_id}/participants/{participant_id}", "loans", "RemoveParticipant"),
    Route("POST", "/v1/loans/{loan_id}/participants/batch", "loans", "BatchParticipants"),
    Route("GET", "/v1/loans/{loan_id}/history", "loans", "GetLoanHistory"),
    Route("GET", "/v1/loans/{loan_id}/funding-history", "loans", "GetFundingHistory"),
    Route("GET", "/v1/loans/{loan_id}/audit-log", "loans", "GetAuditLog"),
    Route("GET", "/v1/lender/pending", "lender", "GetPendingInvitations"),
    Route("POST", "/v1/lender/invitations/{participant_id}/accept", "lender", "AcceptInvitation"),
    Route("POST", "/v1/lender/invitations/{participant_id}/decline", "lender", "DeclineInvitation"),
    Route("GET", "/v1/lender/portfolio", "lender", "GetPortfolio"),
    # Commercial loan bookings (lendbridge.handlers.bookings)
    Route("GET", "/v1/products", "bookings", "ListProducts"),
    Route("POST", "/v1/loan-bookings", "bookings", "CreateBooking"),
    Route("GET", "/v1/loan-bookings", "bookings", "ListBookings"),
    Route("GET", "/v1/loan-bookings/{booking_id}", "bookings", "GetBooking"),
    Route("PATCH", "/v1/loan-bookings/{booking_id}", "bookings", "UpdateBooking"),
    Route("DELETE", "/v1/loan-bookings/{booking_id}", "bookings", "CancelBooking"),
    Route("POST", "/v1/loan-bookings/{booking_id}/book", "bookings", "BookBooking"),
    Route("POST", "/v1/loan-bookings/{booking_id}/documents", "bookings", "CreateDocument"),
    Route("GET", "/v1/loan-bookings/{booking_id}/documents", "bookings", "ListDocuments"),
    Route("GET", "/v1/loan-bookings/{booking_id}/documents/{document_id}", "bookings", "GetDocument"),
    Route("DELETE", "/v1/loan-bookings/{booking_id}/documents/{document_id}", "bookings", "DeleteDocument"),
    Route("POST", "/v1/loan-bookings/{booking_id}/documents/{document_id}/extraction", "bookings", "RequestExtraction"),
    Route("GET", "/v1/loan-bookings/{booking_id}/extractions/{extraction_id}", "bookings", "GetExtraction"),
    Route("GET", "/v1/loan-bookings/{booking_id}/booking-sheet", "bookings", "GetBookingSheet"),
    Route("PATCH", "/v1/loan-bookings/{booking_id}/booking-sheet", "bookings", "CorrectBookingSheet"),
    # webhooks (lendbridge.handlers.webhooks)
    Route("POST", "/v1/webhooks", "webhooks", "CreateWebhook"),
    Route("GET", "/v1/webhooks", "webhooks", "ListWebhooks"),
    Route("GET", "/v1/webhooks/{webhook_id}", "webhooks", "GetWebhook"),
    Route("PATCH", "/v1/webhooks/{webhook_id}", "webhooks", "UpdateWebhook"),
    Route("DELETE", "/v1/webhooks/{webhook_id}", "webhooks", "DeleteWebhook"),
    Route("GET", "/v1/webhooks/{webhook_id}/deliveries", "webhooks", "ListWebhookDeliveries"),
    Route("POST", "/v1/webhooks/{webhook_id}/rotate-secret", "webhooks", "RotateWebhookSecret"),
    Route("POST", "/v1/webhooks/{webhook_id}/test", "webhooks", "SendWebhookTest"),
)

FUNCTIONS: tuple[str, ...] = tuple(dict.fromkeys(route.function for route in ROUTES))


def endpoint_of(method: str, resource: str) -> str:
    for route in ROUTES:
        if route.method == method and route.path == resource:
            return route.endpoint
    return "Unknown"

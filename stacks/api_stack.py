"""The REST API: one Lambda per concern, routes from ``lendbridge.routes``, Cognito authorizer."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from lendbridge.data import names
from lendbridge.domain.products import catalogue_to_json
from lendbridge.routes import ROUTES
from lendbridge_infra.config import StageConfig
from lendbridge_infra.function import LendbridgeFunction, retention_of
from lendbridge_infra.grants import grant_secret_read, grant_send, grant_table
from lendbridge_infra.waf import web_acl
from stacks.bookings_stack import BookingsStack
from stacks.data_stack import DataStack
from stacks.identity_stack import SIGNIN_SCOPE, IdentityStack
from stacks.rate_limits import grant_rate_limits, rate_limit_environment
from stacks.webhooks_stack import WebhooksStack

MIN_COMPRESSION_BYTES = 1024
# The contract's 429 and 503 always tell the client when to retry, API Gateway's own included.
RETRYABLE_STATUSES = frozenset({"429", "503"})
GATEWAY_RETRY_AFTER_S = 5
GATEWAY_REQUEST_ID_HEADER = "method.request.header.X-Request-Id"


@dataclass(frozen=True)
class FunctionSpec:
    module: str
    description: str


FUNCTIONS: dict[str, FunctionSpec] = {
    "health": FunctionSpec("lendbridge.handlers.health", "Liveness and readiness probes"),
    "accounts": FunctionSpec("lendbridge.handlers.accounts", "Registration, login and the caller's profile"),
    "loans": FunctionSpec("lendbridge.handlers.loans", "Borrowers: create loans, list them, invite lenders"),
    "lender": FunctionSpec("lendbridge.handlers.lender", "Lenders: pending invitations, accept, decline, portfolio"),
    "bookings": FunctionSpec(
        "lendbridge.handlers.bookings", "Commercial loan bookings: products, bookings, documents, booking sheet"
    ),
    "webhooks": FunctionSpec("lendbridge.handlers.webhooks", "Webhook subscriptions, their deliveries and test events"),
}

ITEM_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
ITEM_READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"]
IDEMPOTENCY = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]

# Errors API Gateway answers itself, in the contract's envelope. Gateway responses cannot
# format dates, so their timestamp is API Gateway's own request time.
GATEWAY_ERRORS: dict[str, tuple[apigw.ResponseType, str, str, str]] = {
    "Unauthorized": (apigw.ResponseType.UNAUTHORIZED, "401", "UNAUTHORIZED", "Missing or invalid credentials"),
    "ExpiredToken": (apigw.ResponseType.EXPIRED_TOKEN, "401", "UNAUTHORIZED", "The token has expired"),
    "AccessDenied": (apigw.ResponseType.ACCESS_DENIED, "403", "FORBIDDEN", "Not allowed"),
    "NoSuchRoute": (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "NOT_FOUND", "No such resource"),
    "Throttled": (apigw.ResponseType.THROTTLED, "429", "TOO_MANY_REQUESTS", "Too many requests"),
    "WafBlocked": (apigw.ResponseType.WAF_FILTERED, "403", "FORBIDDEN", "Request blocked"),
    "TooLarge": (apigw.ResponseType.REQUEST_TOO_LARGE, "400", "VALIDATION_ERROR", "The request body is too large"),
    "BadBody": (apigw.ResponseType.BAD_REQUEST_BODY, "400", "VALIDATION_ERROR", "The request is invalid"),
    "Default4xx": (apigw.ResponseType.DEFAULT_4_XX, "400", "VALIDATION_ERROR", "The request is invalid"),
    "Default5xx": (apigw.ResponseType.DEFAULT_5_XX, "503", "SERVICE_UNAVAILABLE", "Service unavailable"),
}


class ApiStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        data: DataStack,
        identity: IdentityStack,
        bookings: BookingsStack,
        webhooks: WebhooksStack,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        environment = {
            "MAIN_TABLE": data.main_table.table_name,
            "AUDIT_TABLE": data.audit_table.table_name,
            "IDEMPOTENCY_TABLE": data.idempotency_table.table_name,
            "USER_POOL_ID": identity.user_pool.user_pool_id,
            "USER_POOL_CLIENT_ID": identity.client.user_pool_client_id,
            "AUTO_CONFIRM_EMAIL": "true" if config.auto_confirm_email else "false",
            "BANK_DATA_KEY_ID": data.bank_data_key.key_arn,
            "PAGINATION_SECRET_ID": data.pagination_secret.secret_arn,
            "IDEMPOTENCY_SECRET_ID": data.idempotency_secret.secret_arn,
            "CORS_ORIGINS": ",".join(config.cors_origins),
            "CLAIMS_QUEUE_URL": identity.claims_queue.queue_url,
            **rate_limit_environment(config, data),
            # Commercial loan bookings: the documents bucket, the extraction queue, the reader.
            **bookings.document_environment(),
        }
        self.functions: dict[str, lambda_.Function] = {
            name: LendbridgeFunction(
                self,
                f"{name.title()}Fn",
                config=config,
                module=spec.module,
                description=spec.description,
                environment={
                    **environment,
                    **self._own_environment(name),
                    **(webhooks.api_environment(data) if name == "webhooks" else {}),
                },
                # Caps each public function so a flood cannot take the account's whole concurrency
                # (and starve the stream consumer); the stage throttle answers 429 well before it.
                reserved_concurrency=config.reserved_concurrency.get(name),
            ).function
            for name, spec in FUNCTIONS.items()
        }
        self._grant(data, identity)
        if "bookings" in self.functions:
            bookings.grant_api(self.functions["bookings"])
        bookings.grant_readiness(self.functions["health"])
        self._grant_webhooks(data, webhooks)
        self.api = self._rest_api(identity)
        if config.waf_enabled:
            self._web_acl()

    def _own_environment(self, function: str) -> dict[str, str]:
        """Settings only one function reads."""
        if function == "bookings":
            # The catalogue travels with the function: serving it never reads the database.
            return {"PRODUCTS": catalogue_to_json(self.config.products)}
        return {}

    def _grant(self, data: DataStack, identity: IdentityStack) -> None:
        health, accounts = self.functions["health"], self.functions["accounts"]
        grant_table(health, data.main_table, ["dynamodb:GetItem"])
        data.data_key.grant(health, "kms:Decrypt")
        identity.user_pool.grant(health, "cognito-idp:DescribeUserPool")

        grant_table(accounts, data.main_table, [*ITEM_READ, *ITEM_WRITE])
        grant_table(accounts, data.audit_table, ["dynamodb:PutItem"])
        data.data_key.grant(accounts, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        # Sign-in and its second step run server-side so threat protection sees the caller (ContextData).
        admin_actions = [
            "cognito-idp:AdminDeleteUser",
            "cognito-idp:AdminInitiateAuth",
            "cognito-idp:AdminRespondToAuthChallenge",
        ]
        if self.config.auto_confirm_email:
            admin_actions += ["cognito-idp:AdminConfirmSignUp", "cognito-idp:AdminUpdateUserAttributes"]
            # Registration confirms the email itself, so it hands the invitations to the claim worker.
            grant_send(accounts, identity.claims_queue)
        identity.user_pool.grant(accounts, *admin_actions)

        loans, lender = self.functions["loans"], self.functions["lender"]
        grant_table(loans, data.main_table, [*ITEM_READ, *ITEM_WRITE], indexes=[names.BORROWER_COLLECTION])
        grant_table(
            lender,
            data.main_table,
            [*ITEM_READ, *ITEM_WRITE],
            indexes=[names.LENDER_INVITATIONS, names.PARTICIPANT_BY_ID],
        )
        # The audit log is append-only: PutItem to write, Query (borrower's audit-log route) to read.
        grant_table(loans, data.audit_table, ["dynamodb:PutItem", "dynamodb:Query"])
        grant_table(lender, data.audit_table, ["dynamodb:PutItem"])
        for function in (loans, lender):
            grant_table(function, data.idempotency_table, IDEMPOTENCY)
            data.data_key.grant(function, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
            grant_secret_read(function, data.pagination_secret.secret_arn)
            grant_secret_read(function, data.idempotency_secret.secret_arn)
        # Lenders' bank numbers are sealed here; no function in the request path can unseal them.
        data.bank_data_key.grant(lender, "kms:Encrypt")
        grant_rate_limits([fn for name, fn in self.functions.items() if name != "health"], data)
        self._grant_bookings(data)

    def _grant_bookings(self, data: DataStack) -> None:
        """Bookings live in the main table (GSI1 and GSI2 hold an owner's lists); nothing of a
        booking is ever erased (a removed document is marked deleted), so no DeleteItem. The
        bucket and the extraction queue are granted by the stack that owns them."""
        bookings = self.functions["bookings"]
        grant_table(
            bookings,
            data.main_table,
            [*ITEM_READ, *ITEM_WRITE],
            indexes=[names.BORROWER_COLLECTION, names.LENDER_INVITATIONS],
        )
        grant_table(bookings, data.audit_table, ["dynamodb:PutItem"])
        grant_table(bookings, data.idempotency_table, IDEMPOTENCY)
        data.data_key.grant(bookings, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        grant_secret_read(bookings, data.pagination_secret.secret_arn)
        grant_secret_read(bookings, data.idempotency_secret.secret_arn)

    def _grant_webhooks(self, data: DataStack, webhooks: WebhooksStack) -> None:
        function = self.functions["webhooks"]
        webhooks.grant_api(function, data)
        grant_table(function, data.idempotency_table, IDEMPOTENCY)
        grant_secret_read(function, data.pagination_secret.secret_arn)
        grant_secret_read(function, data.idempotency_secret.secret_arn)

    def _rest_api(self, identity: IdentityStack) -> apigw.RestApi:
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=retention_of(self.config.log_retention_days),
            removal_policy=self.config.removal_policy,
        )
        api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=self.config.resource_name("api"),
            description="Lendbridge HTTP API v1",
            min_compression_size=cdk.Size.bytes(MIN_COMPRESSION_BYTES),
            # Access logs need the account's CloudWatch Logs role; the owning stage creates the role and
            # the account setting and retains both, since other stages in the account rely on them.
            cloud_watch_role=self.config.owns_api_gateway_account,
            cloud_watch_role_removal_policy=(
                cdk.RemovalPolicy.RETAIN if self.config.owns_api_gateway_account else None
            ),
            endpoint_types=[apigw.EndpointType.REGIONAL],
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=self.config.cors_origins,
                allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "Idempotency-Key",
                    "X-Idempotency-Key",
                    "If-Match",
                    "X-Request-Id",
                ],
                expose_headers=[
                    "X-Request-Id",
                    "Retry-After",
                    "Idempotent-Replayed",
                    "X-RateLimit-Limit",
                    "X-RateLimit-Remaining",
                    "X-RateLimit-Reset",
                ],
                max_age=cdk.Duration.hours(1),
            ),
            deploy_options=apigw.StageOptions(
                stage_name=self.config.name,
                throttling_burst_limit=self.config.api_throttle_burst,
                throttling_rate_limit=self.config.api_throttle_rate,
                tracing_enabled=True,
                metrics_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
            ),
        )
        for gateway_id, (response_type, status, code, message) in GATEWAY_ERRORS.items():
            retry = {"Retry-After": f"'{GATEWAY_RETRY_AFTER_S}'"} if status in RETRYABLE_STATUSES else {}
            api.add_gateway_response(
                gateway_id,
                type=response_type,
                status_code=status,
                response_headers={
                    # Header mappings take only request parameters or static values, never
                    # context.requestId: the caller's own id is echoed when it sent one, and the
                    # body's request_id is API Gateway's, which it also sends as x-amzn-RequestId.
                    "X-Request-Id": GATEWAY_REQUEST_ID_HEADER,
                    "Content-Type": "'application/json'",
                    # A static value only: browsers on the stage's origin can read these errors too.
                    "Access-Control-Allow-Origin": f"'{self.config.cors_origins[0]}'",
                    "Access-Control-Expose-Headers": "'X-Request-Id,x-amzn-RequestId,Retry-After'",
                    **retry,
                },
                templates={"application/json": json.dumps(_gateway_error_body(code, message, bool(retry)))},
            )

        authorizer = apigw.CognitoUserPoolsAuthorizer(
            self, "Authorizer", cognito_user_pools=[identity.user_pool], results_cache_ttl=cdk.Duration.minutes(5)
        )
        integrations = {name: apigw.LambdaIntegration(fn, proxy=True) for name, fn in self.functions.items()}
        self.public_methods: list[apigw.Method] = []
        for route in ROUTES:
            resource = api.root.resource_for_path(route.path)
            options: dict[str, object] = {}
            if route.authenticated:
                options = {
                    "authorizer": authorizer,
                    "authorization_type": apigw.AuthorizationType.COGNITO,
                    "authorization_scopes": [SIGNIN_SCOPE],
                }
            method = resource.add_method(
                route.method,
                integrations[route.function],
                operation_name=route.endpoint,
                **options,
            )
            if not route.authenticated:
                self.public_methods.append(method)
        cdk.CfnOutput(self, "ApiUrl", value=api.url)
        return api

    def _web_acl(self) -> None:
        acl = web_acl(self, "WebAcl", allowed_origin=self.config.cors_origins[0])
        wafv2.CfnWebACLAssociation(
            self, "WebAclAssociation", resource_arn=self.api.deployment_stage.stage_arn, web_acl_arn=acl.attr_arn
        )


ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.authorizer.claims.sub",
    "method": "$context.httpMethod",
    "resource": "$context.resourcePath",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "responseLength": "$context.responseLength",
    "userAgent": "$context.identity.userAgent",
    "requestTime": "$context.requestTime",
}


def _gateway_error_body(code: str, message: str, retryable: bool) -> dict[str, object]:
    body: dict[str, object] = {
        "success": False,
        "error": code,
        "message": message,
        "request_id": "$context.requestId",
        "timestamp": "$context.requestTime",
    }
    if retryable:
        body["retry_after"] = GATEWAY_RETRY_AFTER_S
    return body

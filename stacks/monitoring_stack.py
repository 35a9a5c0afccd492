"""On-call topic and the alarms that page it."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from lendbridge_infra.config import StageConfig


class MonitoringStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        topic_key = kms.Key(
            self,
            "OnCallTopicKey",
            enable_key_rotation=True,
            removal_policy=config.removal_policy,
            description="Encrypts the on-call alarm topic",
        )
        topic_key.grant_encrypt_decrypt(cdk.aws_iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        self.topic = sns.Topic(
            self, "OnCallTopic", master_key=topic_key, enforce_ssl=True, display_name="Lendbridge on-call"
        )
        for email in config.alarm_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        for url in config.alarm_https_endpoints:
            self.topic.add_subscription(subscriptions.UrlSubscription(url))
        self.alarm_action = actions.SnsAction(self.topic)

        api_errors = cloudwatch.MathExpression(
            expression="SUM(SEARCH('{PrivateLending/API,Endpoint,ErrorType} MetricName=\"APIError\"', 'Sum', 300))",
            period=cdk.Duration.minutes(5),
            label="APIError (all endpoints)",
        )
        self.page(
            "ApiErrors",
            api_errors,
            threshold=10,
            description="More than 10 API errors in 5 minutes (client alarm).",
        )
        latency = cloudwatch.MathExpression(
            expression="AVG(SEARCH('{PrivateLending/API,Endpoint,Status} MetricName=\"APILatency\"', 'Average', 300))",
            period=cdk.Duration.minutes(5),
            label="APILatency average",
        )
        self.page("ApiLatency", latency, threshold=1000, description="Average API latency above 1 s over 5 minutes.")
        throttled = cloudwatch.MathExpression(
            expression=(
                'SUM(SEARCH(\'{PrivateLending/API,Endpoint,ErrorType} MetricName="APIError" '
                "ErrorType=\"DatabaseThrottled\"', 'Sum', 60))"
            ),
            period=cdk.Duration.minutes(1),
            label="DatabaseThrottled errors",
        )
        self.page("DatabaseThrottled", throttled, threshold=5, description="More than 5 throttled requests a minute.")

    def page(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self.alarm_action)
        alarm.add_ok_action(self.alarm_action)
        return alarm

"""Creates in moto every S3 bucket (with its event notifications), KMS key, secret, SNS topic, SQS
queue and Cognito user pool (with its app clients) that the synthesized template declares, and binds their Ref/Arn/other
attributes into the Assembly, so functions' environment variables resolve to local values.

Resources reference each other (a bucket names its KMS key, a client its user pool, a queue its
dead-letter queue), so they are created in dependency order: a resource whose properties
reference one not bound yet waits for the next pass.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from local.template import ACCOUNT, LOCAL_PREFIX, REGION, Assembly, Unresolved, friendly


@dataclass(frozen=True)
class Clients:
    """boto3 clients on the moto server, one per service provisioned."""

    s3: Any
    kms: Any
    secretsmanager: Any
    sns: Any
    sqs: Any
    cognito: Any


@dataclass(frozen=True)
class Declared:
    """One template resource being provisioned; ``prop`` resolves a property on demand, so a
    reference that is not bound yet raises ``Unresolved`` and the resource waits a pass."""

    assembly: Assembly
    stack: str
    logical_id: str
    properties: Mapping[str, Any]

    def prop(self, name: str, default: Any = None) -> Any:
        if name not in self.properties:
            return default
        return self.assembly.resolve(self.stack, self.properties[name])

    @property
    def name(self) -> str:
        return f"{LOCAL_PREFIX}-{friendly(self.logical_id)}"

    def bind(self, ref: str, **attributes: str) -> None:
        self.assembly.bind(self.stack, self.logical_id, ref, **attributes)


Provisioner = Callable[[Clients, Declared], None]


def known_members(client: Any, operation: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Template properties that are also parameters of ``operation``: for Cognito, CloudFormation
    and the API share names, so a property added to the stack reaches moto with no change here."""
    members = client.meta.service_model.operation_model(operation).input_shape.members
    return {key: value for key, value in values.items() if key in members}


def _kms_key(clients: Clients, declared: Declared) -> None:
    request = {
        "Description": declared.prop("Description", ""),
        "KeyUsage": declared.prop("KeyUsage", "ENCRYPT_DECRYPT"),
    }
    if declared.prop("KeySpec"):
        request["KeySpec"] = declared.prop("KeySpec")
    metadata = clients.kms.create_key(**request)["KeyMetadata"]
    if declared.prop("EnableKeyRotation"):
        clients.kms.enable_key_rotation(KeyId=metadata["KeyId"])
    declared.bind(metadata["KeyId"], Arn=metadata["Arn"], KeyId=metadata["KeyId"])


def _kms_alias(clients: Clients, declared: Declared) -> None:
    alias = declared.prop("AliasName")
    clients.kms.create_alias(AliasName=alias, TargetKeyId=declared.prop("TargetKeyId"))
    declared.bind(alias)


def _bucket(clients: Clients, declared: Declared) -> None:
    encryption = declared.prop("BucketEncryption")  # resolve references before creating anything
    cors = declared.prop("CorsConfiguration")
    name = declared.name.lower()
    clients.s3.create_bucket(Bucket=name)
    if (declared.prop("VersioningConfiguration") or {}).get("Status") == "Enabled":
        clients.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if encryption:
        # CloudFormation's names differ from the API's: ServerSideEncryptionConfiguration holds
        # the Rules, whose ServerSideEncryptionByDefault the API calls ApplyServerSideEncryptionByDefault.
        rules = [
            {
                ("ApplyServerSideEncryptionByDefault" if key == "ServerSideEncryptionByDefault" else key): value
                for key, value in rule.items()
            }
            for rule in encryption.get("ServerSideEncryptionConfiguration", [])
        ]
        clients.s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if cors:
        rules = [_cors_rule(rule) for rule in cors.get("CorsRules", [])]
        clients.s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
    if declared.prop("PublicAccessBlockConfiguration"):
        clients.s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=declared.prop("PublicAccessBlockConfiguration")
        )
    declared.bind(
        name,
        Arn=f"arn:aws:s3:::{name}",
        DomainName=f"{name}.s3.amazonaws.com",
        RegionalDomainName=f"{name}.s3.{REGION}.amazonaws.com",
        DualStackDomainName=f"{name}.s3.dualstack.{REGION}.amazonaws.com",
        WebsiteURL=f"http://{name}.s3-website-{REGION}.amazonaws.com",
    )


def _cors_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    # CloudFormation says MaxAge where the S3 API says MaxAgeSeconds; the rest match.
    renamed = {"MaxAge": "MaxAgeSeconds", "Id": "ID"}
    return {renamed.get(key, key): value for key, value in rule.items()}


def _secret(clients: Clients, declared: Declared) -> None:
    request: dict[str, Any] = {"Name": declared.name, "SecretString": _secret_value(declared)}
    if declared.prop("Description"):
        request["Description"] = declared.prop("Description")
    if declared.prop("KmsKeyId"):
        request["KmsKeyId"] = declared.prop("KmsKeyId")
    arn = clients.secretsmanager.create_secret(**request)["ARN"]
    declared.bind(arn, Id=arn)  # a secret's Ref is its ARN


def _secret_value(declared: Declared) -> str:
    """SecretString as given, or generated the way GenerateSecretString describes it."""
    given = declared.prop("SecretString")
    if given is not None:
        return str(given)
    spec: Mapping[str, Any] = declared.prop("GenerateSecretString") or {}
    alphabet = ""
    if not spec.get("ExcludeLowercase"):
        alphabet += string.ascii_lowercase
    if not spec.get("ExcludeUppercase"):
        alphabet += string.ascii_uppercase
    if not spec.get("ExcludeNumbers"):
        alphabet += string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    if spec.get("IncludeSpace"):
        alphabet += " "
    excluded = set(spec.get("ExcludeCharacters", ""))
    alphabet = "".join(char for char in alphabet if char not in excluded)
    value = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    if spec.get("SecretStringTemplate") and spec.get("GenerateStringKey"):
        document = json.loads(spec["SecretStringTemplate"])
        document[spec["GenerateStringKey"]] = value
        return json.dumps(document)
    return value


def _topic(clients: Clients, declared: Declared) -> None:
    fifo = bool(declared.prop("FifoTopic"))
    attributes = {
        key: str(declared.prop(key)).lower() if isinstance(declared.prop(key), bool) else str(declared.prop(key))
        for key in ("DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication")
        if declared.prop(key) is not None
    }
    name = declared.name + (".fifo" if fifo else "")
    arn = clients.sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    declared.bind(arn, TopicArn=arn, TopicName=name)


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "SqsManagedSseEnabled",
)


def _queue(clients: Clients, declared: Declared) -> None:
    attributes: dict[str, str] = {}
    for key in _QUEUE_ATTRIBUTES:
        value = declared.prop(key)
        if value is not None:
            attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if declared.prop(key) is not None:
            attributes[key] = json.dumps(declared.prop(key))
    name = declared.name + (".fifo" if attributes.get("FifoQueue") == "true" else "")
    url = clients.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    declared.bind(url, Arn=arn, QueueName=name, QueueUrl=url)


def _user_pool(clients: Clients, declared: Declared) -> None:
    values = {key: declared.prop(key) for key in declared.properties}
    request = known_members(clients.cognito, "CreateUserPool", values)
    request["PoolName"] = declared.name
    pool = clients.cognito.create_user_pool(**request)["UserPool"]
    provider = f"cognito-idp.{REGION}.amazonaws.com/{pool['Id']}"
    declared.bind(pool["Id"], Arn=pool["Arn"], UserPoolId=pool["Id"], ProviderName=provider, ProviderURL=provider)


def _user_pool_client(clients: Clients, declared: Declared) -> None:
    values = {key: declared.prop(key) for key in declared.properties}
    request = known_members(clients.cognito, "CreateUserPoolClient", values)
    request["ClientName"] = declared.name
    client = clients.cognito.create_user_pool_client(**request)["UserPoolClient"]
    declared.bind(
        client["ClientId"], ClientId=client["ClientId"], Name=declared.name, ClientSecret=client.get("ClientSecret", "")
    )


def _bucket_notifications(clients: Clients, declared: Declared) -> None:
    """CDK's Custom::S3BucketNotifications (configured in AWS by a function of CDK's own) as the
    one S3 call it makes. moto then sends ObjectCreated events to the queues, as S3 would."""
    bucket = declared.prop("BucketName")
    configuration = declared.prop("NotificationConfiguration") or {}
    clients.s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            key: value
            for key, value in configuration.items()
            if key in ("QueueConfigurations", "TopicConfigurations", "LambdaFunctionConfigurations")
        },
    )
    declared.bind(f"{bucket}-notifications")


PROVISIONERS: Mapping[str, Provisioner] = {
    "AWS::KMS::Key": _kms_key,
    "AWS::KMS::Alias": _kms_alias,
    "AWS::S3::Bucket": _bucket,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::SNS::Topic": _topic,
    "AWS::SQS::Queue": _queue,
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolClient": _user_pool_client,
    "Custom::S3BucketNotifications": _bucket_notifications,
}


def provision(clients: Clients, assembly: Assembly) -> dict[str, list[str]]:
    """Create every resource of a provisioned type; returns type -> logical ids created."""
    pending = [
        Declared(assembly, stack, logical_id, resource.get("Properties", {}))
        for resource_type in PROVISIONERS
        for stack, logical_id, resource in assembly.resources(resource_type)
    ]
    created: dict[str, list[str]] = {}
    while pending:
        waiting: list[Declared] = []
        for declared in pending:
            resource_type = assembly.resource(declared.stack, declared.logical_id)["Type"]
            try:
                PROVISIONERS[resource_type](clients, declared)
            except Unresolved:
                waiting.append(declared)
                continue
            created.setdefault(resource_type, []).append(declared.logical_id)
        if len(waiting) == len(pending):
            stuck = ", ".join(f"{item.stack}/{item.logical_id}" for item in waiting)
            raise RuntimeError(f"cannot provision {stuck}: they reference resources with no local value")
        pending = waiting
    return created


def bind_placeholders(assembly: Assembly, exclude: frozenset[str] = frozenset(PROVISIONERS)) -> list[str]:
    """Give every resource that is not emulated (roles, log groups, functions, API Gateway
    parts...) a deterministic local name and ARN, so references to them still resolve.
    Resource types in ``exclude`` are left for ``provision``. Returns the logical ids bound."""
    placeholders = []
    for stack, template in assembly.templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            resource_type = resource.get("Type", "")
            if assembly.is_bound(stack, logical_id) or resource_type in exclude:
                continue
            name = f"{LOCAL_PREFIX}-{friendly(logical_id)}"
            attributes = {"Arn": placeholder_arn(resource_type, name)}
            if resource_type == "AWS::ApiGateway::RestApi":
                # Methods on the root resource name it by this attribute.
                attributes["RootResourceId"] = f"{name}-root"
            assembly.bind(stack, logical_id, name, **attributes)
            placeholders.append(logical_id)
    return placeholders


def placeholder_arn(resource_type: str, name: str) -> str:
    service = resource_type.split("::")[1].lower() if resource_type.count("::") == 2 else "local"
    if resource_type == "AWS::Lambda::Function":
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    if resource_type == "AWS::IAM::Role":
        return f"arn:aws:iam::{ACCOUNT}:role/{name}"
    if resource_type == "AWS::Logs::LogGroup":
        return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{name}"

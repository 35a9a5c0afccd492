"""The local stack: DynamoDB Local, a moto server and an API Gateway stand-in, provisioned from
the synthesized dev template so that local and deployed resources never drift apart.

Rule of the room: may import the Lambda code (its workers run the handlers), ``stacks`` (only to
synthesize the dev template, in a child process) and ``lendbridge_infra``; must not import
``tools`` or ``benchmarks``, and nothing deployed imports it.

    run            ``make run``: settings, banner, signals, the function log
    state          ``<LOCAL_DIR>/stack.json``: where a running ``make run`` is, for other commands
    seed           ``make seed``: sample users and loans over the HTTP API
    stack          LocalLendbridge, the whole thing as a context manager (tests use it)
    synth, synth_cache, template    the dev template: synth, reuse, intrinsic resolution, tables
    provision      buckets, keys, secrets, topics, queues, user pools in moto
    apimodel       the REST API as declared: resources, methods, authorizers, gateway responses
    gateway, events, authorizer, http_server    API Gateway's behaviour over HTTP on 127.0.0.1
    workers, worker                 Lambda-like execution environments, one process each
    event_sources, streams          DynamoDB stream mappings feeding their functions
    dynamodb_local, moto_server, guard, net    the emulators' processes and their ports
    cognito_users  the emulated Cognito users kept across runs (LOCAL_PERSIST=1)
    docs           Swagger UI and the OpenAPI document
"""

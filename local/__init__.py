"""The local stack: DynamoDB Local, a moto server and an API Gateway stand-in, provisioned from
the synthesized dev template so that local and deployed resources never drift apart."""

"""Project tools run by ``make``: synth check, cfn-lint, the OpenAPI generator, migrations.

Rule of the room: may import any package of the project (they check it or act on its data);
nothing but ``tests`` imports a tool.
"""

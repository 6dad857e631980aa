"""The demo: its story, its cast of scripted agents, the scripted agent itself and the local
stand-in of the agent programs' APIs. Built on the services, used by the faces and the tests."""

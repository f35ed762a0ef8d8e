import json
import urllib.request


def test_distribution_peer_answers(distribution):
    with urllib.request.urlopen(f"{distribution}/v2/") as response:
        assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
        assert json.loads(response.read()) == {}

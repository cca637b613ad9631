import pytest
from tests.factories import pending_relationship

def test_look(client, therapist, active_client, child_client):
    pending_relationship(therapist, full_name="Sofía Núñez", email="sofia@example.com")
    client.force_login(therapist)
    r = client.get("/clients/")
    print(r.status_code)
    print(r.content.decode()[:6000])
    r = client.get(f"/clients/{active_client.public_id}/?created=1")
    open("/tmp/scratch/detail.html","w").write(r.content.decode())

def test_active_client_fixture_builds_an_active_relationship(active_client, run_tasks):
    assert active_client.state == "active"
    assert run_tasks() == 1

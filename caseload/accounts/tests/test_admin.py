from caseload.accounts.models import User


def test_superuser_can_browse_the_admin_pages(client, db):
    root = User.objects.create_superuser("root@example.com", "pw-very-long-123", full_name="Root")
    client.force_login(root)
    for url in [
        "/django-admin/accounts/user/",
        "/django-admin/accounts/user/add/",
        f"/django-admin/accounts/user/{root.pk}/change/",
        "/django-admin/audit/auditevent/",
        "/django-admin/practices/practice/",
        "/django-admin/practices/membership/",
    ]:
        assert client.get(url).status_code == 200, url


def test_admin_creates_accounts_with_a_normalised_email(client, db):
    root = User.objects.create_superuser("root@example.com", "pw-very-long-123")
    client.force_login(root)
    response = client.post(
        "/django-admin/accounts/user/add/",
        {
            "email": " New@Example.com ",
            "full_name": "New Person",
            "password1": "xk3-long-pass-99",
            "password2": "xk3-long-pass-99",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    assert User.objects.filter(email="new@example.com").exists()


def test_audit_events_cannot_be_changed_in_the_admin(client, db):
    root = User.objects.create_superuser("root@example.com", "pw-very-long-123")
    client.force_login(root)
    assert client.get("/django-admin/audit/auditevent/add/").status_code == 403

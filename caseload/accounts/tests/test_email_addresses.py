from allauth.account.models import EmailAddress


def test_an_account_cannot_add_a_second_email_address(client, client_user):
    client.force_login(client_user)

    client.post("/accounts/email/", {"action_add": "", "email": "other@example.com"})

    assert list(EmailAddress.objects.filter(user=client_user).values_list("email", flat=True)) == [
        "maya@example.com"
    ]

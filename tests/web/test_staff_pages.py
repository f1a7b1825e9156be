"""Staff pages in the browser: sign-in, the coordinator's triage console, the partner's queue,
the operational group's map and its printable view; then the resident's follow page."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from gusp import accounts, credentials, db
from gusp.models import Report
from tests import builders
from tests.web import photos_web
from tests.web.conftest import PASSWORD


def _status(settings, reference: str) -> tuple[str, int | None, str]:
    with db.command_session(settings.database_url) as session:
        report = session.scalars(select(Report).where(Report.reference == reference)).one()
        return report.status, report.partner_id, report.priority


def _ready(page) -> None:
    expect(page.locator("body[data-ready=true]")).to_be_attached()


def test_coordinator_triages_partner_resolves_resident_follows(pages, live_server, tmp_path):
    settings, accounts = live_server.settings, live_server.accounts
    reference = photos_web.make_report(settings, description="Tags sur la façade de l'école", category="tags_affichage")
    others = [photos_web.make_report(settings, quartier=builders.JAS_DE_BOUFFAN, description=f"Dépôt n° {i}")
              for i in range(2)]

    # Sign-in: a wrong password gives the API's message; what was typed stays.
    page = pages.context().new_page()
    page.goto("/gestion")
    expect(page).to_have_url(re.compile(r"/connexion\?suite="))
    page.get_by_label("Adresse e-mail").first.fill(accounts.coordinator)
    page.get_by_label("Mot de passe", exact=True).fill("pas le bon mot de passe")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("#login-form .error-summary")).to_contain_text("incorrect")
    expect(page.get_by_label("Adresse e-mail").first).to_have_value(accounts.coordinator)
    pages.check_accessibility(page, "1-connexion-erreur")
    pages.shoot(page, "1-connexion-erreur")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    # The console: list and map side by side, the filters of the triage API.
    expect(page).to_have_url(re.compile(r"/gestion"))
    _ready(page)
    row = page.locator(f"#rows tr[data-reference='{reference}']")
    expect(row).to_be_visible()
    expect(page.locator("#console-map .leaflet-marker-icon")).not_to_have_count(0)  # from the tiles
    pages.check_accessibility(page, "2-console")
    pages.shoot(page, "2-console")

    page.get_by_label("Recherche").fill(reference)
    page.keyboard.press("Enter")  # the filters form submits from the keyboard
    expect(page.locator("#rows tr")).to_have_count(1)

    # Detail, qualify and assign — from the keyboard.
    row.get_by_role("button", name=reference).focus()
    page.keyboard.press("Enter")
    detail = page.locator("#detail")
    expect(detail.locator("h2")).to_have_text(reference)
    expect(detail.locator(".gallery img")).to_have_count(1)
    qualify = detail.locator("form[data-action=qualifier]")
    qualify.get_by_label("Priorité").select_option("haute")
    qualify.get_by_role("button", name="Enregistrer la qualification").click()
    expect(detail.locator(".badge.priority-haute")).to_be_visible()

    assign = detail.locator("form[data-action=affecter]")
    assign.get_by_role("button", name="Affecter").click()  # no partner proposed by a rule: the form says so
    expect(assign.locator("[data-field=partner_id] .field-error")).to_have_text("Choisissez le partenaire.")
    assign.get_by_label("Partenaire", exact=True).select_option(label=accounts.partner_name)
    assign.get_by_label("Note pour le partenaire").fill("Façade de l'école : à traiter avant lundi.")
    assign.get_by_role("button", name="Affecter").click()
    expect(detail.locator(".badge.status-pris_en_compte")).to_be_visible()
    pages.check_accessibility(page, "3-detail")
    pages.shoot(page, "3-detail")
    assert _status(settings, reference) == ("pris_en_compte", accounts.partner_id, "haute")
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()

    # Bulk: assign the two others at once.
    page.get_by_role("button", name="Effacer les filtres").click()
    for other in others:
        page.get_by_label(f"Sélectionner {other}").check()
    bulk = page.locator("#bulk-form")
    expect(bulk).to_contain_text("2 signalements sélectionnés")
    bulk.get_by_label("Partenaire", exact=True).select_option(label=accounts.partner_name)
    bulk.get_by_role("button", name="Appliquer à la sélection").click()
    expect(page.locator("#bulk-results li")).to_have_count(2)
    for other in others:
        assert _status(settings, other)[:2] == ("pris_en_compte", accounts.partner_id)

    # The map of the operational groups, and its printable view.
    page.goto("/carte")
    _ready(page)
    expect(page.locator("#group-map .leaflet-overlay-pane path")).not_to_have_count(0)
    expect(page.locator("#counts tbody tr")).not_to_have_count(0)
    pages.check_accessibility(page, "4-carte")
    pages.shoot(page, "4-carte")
    page.goto("/carte?impression=A3")
    _ready(page)
    expect(page.locator("body")).to_have_class(re.compile("print-A3"))
    page.emulate_media(media="print")
    pages.shoot(page, "5-carte-impression-A3")
    page.pdf(path=str(pages.artefacts / f"{pages.test_name}--5-carte-A3.pdf"), format="A3", landscape=True,
             print_background=True, prefer_css_page_size=True)
    page.emulate_media(media="screen")

    # The partner, on a phone: its queue, take the report, resolve it with a note and an "after" photo.
    after = photos_web.jpeg_file(tmp_path, "apres.jpg", colour=(200, 200, 200))
    phone = pages.context(phone=True).new_page()
    pages.sign_in(phone, accounts.partner)
    expect(phone).to_have_url(re.compile(r"/gestion"))
    _ready(phone)
    expect(phone.locator("h1")).to_have_text("Ma file de signalements")
    expect(phone.locator(f"#rows tr[data-reference='{reference}']")).to_be_visible()
    pages.check_accessibility(phone, "6-partenaire-file")
    pages.shoot(phone, "6-partenaire-file")
    phone.locator(f"#rows button[data-reference='{reference}']").click()
    partner_detail = phone.locator("#detail")
    partner_detail.get_by_role("button", name="Prendre en charge").click()
    expect(partner_detail.locator(".badge.status-en_cours")).to_be_visible()
    resolve = partner_detail.locator("form[data-action=resoudre]")
    resolve.get_by_label("Message pour le déclarant").fill("Les tags ont été effacés ce matin.")
    resolve.get_by_label("Photo « après »").set_input_files(str(after))
    resolve.get_by_role("button", name="Marquer comme résolu").click()
    expect(partner_detail.locator(".badge.status-resolu")).to_be_visible()
    expect(partner_detail.get_by_role("heading", name="Photo après intervention")).to_be_visible()
    pages.check_accessibility(phone, "7-partenaire-resolu")
    pages.shoot(phone, "7-partenaire-resolu")
    assert _status(settings, reference)[0] == "resolu"

    # The resident's follow page: resolved, the public note, the photos before and after.
    resident = pages.context(phone=True).new_page()
    resident.goto(f"/suivi/{reference}")
    _ready(resident)
    expect(resident.locator("#status")).to_have_text("Résolu")
    expect(resident.locator("#timeline")).to_contain_text("Les tags ont été effacés ce matin.")
    expect(resident.locator("#gallery-before img")).to_have_count(1)
    expect(resident.locator("#gallery-after img")).to_have_count(1)
    expect(resident.get_by_text("à traiter avant lundi")).to_have_count(0)  # internal notes stay internal
    pages.check_accessibility(resident, "8-suivi-resolu")
    pages.shoot(resident, "8-suivi-resolu")


def test_group_member_sees_the_map(pages, live_server):
    photos_web.make_report(live_server.settings, quartier=builders.JAS_DE_BOUFFAN, description="Banc cassé",
                           category="mobilier_urbain")
    page = pages.context().new_page()
    pages.sign_in(page, live_server.accounts.group)
    expect(page).to_have_url(re.compile(r"/carte"))
    _ready(page)
    expect(page.locator("#summary")).to_contain_text("signalement")
    expect(page.locator("#group-map .leaflet-marker-icon")).not_to_have_count(0)
    page.get_by_label("Catégorie").select_option(label="Mobilier urbain")
    page.get_by_role("button", name="Afficher").click()
    # Every quartier the group follows keeps its line (0 where nothing matches); the total is the banc's.
    expect(page.locator("#counts tbody tr")).to_have_count(5)
    expect(page.locator("#counts tbody tr", has_text="Jas de Bouffan").locator("td").nth(-2)).not_to_have_text("0")
    pages.check_accessibility(page, "carte-groupe")
    pages.shoot(page, "carte-groupe")


def test_follow_page_of_an_unknown_reference(pages, live_server):
    page = pages.context(phone=True).new_page()
    page.goto("/suivi/GUSP-1999-000001")
    _ready(page)
    expect(page.locator("#not-found")).to_contain_text("GUSP-1999-000001")
    pages.check_accessibility(page, "introuvable")


def _reset_link_token(settings) -> str:
    with db.command_session(settings.database_url) as session:
        accounts.create_user(session=session, email="oubli@gusp.example", full_name="Odile Oubli", password=PASSWORD,
                             role="agent")
        reset = credentials.request_password_reset(session=session, settings=settings, email="oubli@gusp.example")
        return credentials.issue_reset_token(session=session, reset_hash=reset.token_hash)[0]


def test_password_reset_page(pages, live_server):
    token = _reset_link_token(live_server.settings)
    page = pages.context().new_page()
    response = page.goto(f"/reinitialiser#jeton={token}")  # as mailed: the server never sees the token
    assert response.headers["referrer-policy"] == "no-referrer"
    expect(page).to_have_url(re.compile(r"/reinitialiser$"))  # the token leaves the address bar
    page.get_by_label("Nouveau mot de passe").fill("court")
    page.get_by_label("Le même, une seconde fois").fill("autre")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page.locator("[data-field=confirmation] .field-error")).to_have_text("Les deux mots de passe ne sont pas identiques.")
    page.get_by_label("Le même, une seconde fois").fill("court")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page.locator("[data-field=password] .field-error")).to_contain_text("au moins 12 caractères")
    pages.check_accessibility(page, "reinitialiser-erreur")
    pages.shoot(page, "reinitialiser-erreur")
    page.get_by_label("Nouveau mot de passe").fill("une phrase de passe assez longue")
    page.get_by_label("Le même, une seconde fois").fill("une phrase de passe assez longue")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page.locator("#done")).to_contain_text("Votre mot de passe est changé")

    page.goto("/reinitialiser?jeton=un-jeton-perime")
    page.get_by_label("Nouveau mot de passe").fill("une phrase de passe assez longue")
    page.get_by_label("Le même, une seconde fois").fill("une phrase de passe assez longue")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page.locator(".error-summary")).to_contain_text("n'est pas ou plus valable")


def test_coordinator_merges_a_duplicate_and_writes_to_the_reporter(pages, live_server):
    settings = live_server.settings
    master = photos_web.make_report(settings, category="aires_de_jeux", description="Toboggan cassé", photo=False)
    duplicate = photos_web.make_report(settings, category="aires_de_jeux", description="Le toboggan est fendu",
                                       photo=False)
    page = pages.context().new_page()
    pages.sign_in(page, live_server.accounts.coordinator, f"/gestion?ref={duplicate}")
    _ready(page)
    detail = page.locator("#detail")
    expect(detail.locator("h2")).to_have_text(duplicate)
    merge = detail.locator("form[data-action=doublon]")
    merge.get_by_role("button", name=f"Choisir {master} comme maître").click()
    expect(merge.get_by_label("Référence du signalement maître")).to_have_value(master)
    merge.get_by_role("button", name="Fusionner dans le maître").click()
    expect(detail.locator(".badge.status-rejete")).to_be_visible()
    expect(detail.locator("dd").filter(has_text=master)).to_have_count(1)  # "Doublon de" in the facts
    pages.shoot(page, "fusion")

    page.goto(f"/gestion?ref={master}")
    _ready(page)
    status = page.locator("#detail form[data-action=statut]")
    status.get_by_label("Nouveau statut").select_option("rejete")
    status.get_by_role("button", name="Changer le statut").click()  # a rejection needs its reason: the API says so
    expect(status.locator("[data-field=reason] .field-error")).to_have_text("Indiquez le motif du rejet.")
    status.get_by_label("Nouveau statut").select_option("pris_en_compte")
    status.get_by_label("Note (facultative)").fill("Une équipe passera jeudi.")
    status.get_by_label("Note visible du déclarant").check()
    status.get_by_role("button", name="Changer le statut").click()
    expect(page.locator("#detail .badge.status-pris_en_compte")).to_be_visible()

    page.goto(f"/suivi/{master}")
    _ready(page)
    expect(page.locator("#similar")).to_have_text("Une autre personne a signalé le même problème.")
    expect(page.locator("#timeline")).to_contain_text("Une équipe passera jeudi.")
    page.goto(f"/suivi/{duplicate}")
    _ready(page)
    expect(page.locator("#merged")).to_contain_text(master)


def test_a_search_typed_before_the_list_arrives_replaces_it(pages, live_server):
    """CI saw the searched report twice: the first list, slower, was appended after the search's."""
    settings = live_server.settings
    wanted = photos_web.make_report(settings, description="Tags sur la façade", photo=False)
    others = {photos_web.make_report(settings, description=f"Dépôt n° {i}", photo=False) for i in range(2)}
    held = []

    def hold_the_first_list(route):
        if held:
            route.continue_()
        else:
            held.append(route)  # answered only once the search has been shown

    page = pages.context().new_page()
    page.route(lambda url: "/api/v1/gestion/reports?" in url, hold_the_first_list)
    pages.sign_in(page, live_server.accounts.coordinator, "/gestion")
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the console never asked for its list"

    page.get_by_label("Recherche").fill(wanted)
    page.keyboard.press("Enter")
    expect(page.locator("#rows tr")).to_have_count(1)
    held[0].continue_()
    _ready(page)  # set once the first load has returned
    rows = page.locator("#rows tr")
    expect(rows).to_have_count(1)
    assert rows.first.get_attribute("data-reference") == wanted
    assert not others & {rows.nth(i).get_attribute("data-reference") for i in range(rows.count())}
    expect(page.locator("#count")).to_have_text("(1)")

"""Every word the public website shows, in Finnish, Swedish and English, in one place.

Why one module: a translator (or a reviewer checking that the three versions say the same)
reads one file, and a test can check that every key exists in every language. Templates and
charts never hold visible text of their own; they look it up here with `text(lang, key)`.
Numbers are formatted here too (`fmt_count`, `fmt_rate`, ...), since the decimal mark and
the percent sign are language conventions.

No number that a definition fixes is typed into a text: the threshold T, the follow-up
lengths, the register periods, the residual degrees of freedom of rule 6 and the IPS
benchmarks are placeholders (`{T}`, `{long_months}`, ...) filled from their definitions
(`definition_values`). The figures' own labels (cards, table columns, chart lines) come
from the catalogue (`ips_eval.figures`): `h_<figure>`, `col_<count column>` and
`chart_<chart>_<figure>`.

Examples
--------
>>> text("en", "disclosure_note").startswith("Disclosure control: counts of fewer than 5 people")
True
>>> text("fi", "h_employed12")
'Työssä 12 kuukauden kohdalla aloituksesta'
"""

from __future__ import annotations

import math
import string
from typing import Any

from ips_eval import definitions
from ips_eval.figures import LANGUAGES, figures
from ips_eval.publish.disclosure import MIN_RESIDUAL_DF
from ips_eval.publish.site.sections import section_texts

LANGUAGE_NAMES = {"fi": "Suomi", "sv": "Svenska", "en": "English"}

#: The texts as written, their definitional numbers as placeholders (see `definition_values`);
#: placeholders that are not definitions ({cutoff}, {n}, ...) are filled by the caller of `text`.
_PAGE_TEMPLATES: dict[str, dict[str, str]] = {
    "fi": {
        "study": "Sijoita ja valmenna! – IPS-arviointitutkimus",
        "site_title": "Tulokset",
        "skip": "Siirry sisältöön",
        "lead": "Yksilöllisen työhönvalmennuksen (IPS) tulokset mielenterveyskuntoutujien työllistymisestä. "
                "Luvut päivitetään neljännesvuosittain.",
        "cutoff_label": "Tiedot",
        "cutoff_phrase": "tilanne {cutoff}",
        "nav": "Sivun osiot",
        "languages": "Kieli",
        "headline": "Pääluvut",
        "headline_intro": "Kaikki alueet yhteensä. Osuus on laskettu niistä asiakkaista, joiden seuranta-aika riittää.",
        "of_clients": "asiakkaista",
        "of_eligible": "{n} seurattavasta",
        "counties": "Alueittain",
        "counties_intro": "Rivi kutakin hyvinvointialuetta kohden sekä kaikki alueet yhteensä.",
        "groups": "Asiakasryhmittäin",
        "groups_intro": "Kaikki alueet yhteensä, asiakkaiden taustan mukaan.",
        "trend": "Työssä olevien osuus neljännesvuosittain",
        "trend_intro": "Osuus kertoo, kuinka moni neljänneksen aikana palvelussa olleista asiakkaista oli työssä avoimilla "
                       "työmarkkinoilla neljänneksen aikana. "
                       "Viitelinjat ovat kansainvälisen IPS-oppimisverkoston vertailutasot: {benchmark_minimal} (vähimmäistaso), "
                       "{benchmark_average} (keskitaso) ja {benchmark_excellent} (erinomainen).",
        "trend_by_county": "Neljännesvuosiluvut alueittain",
        "ttf": "Aika ensimmäiseen työhön",
        "ttf_intro": "Kaplan–Meier-arvio niiden asiakkaiden osuudesta, jotka ovat saaneet ensimmäisen työn avoimilla "
                     "työmarkkinoilla, aloituksesta kuluneen ajan mukaan. Asiakkaan seuranta päättyy, kun hänen "
                     "palvelunsa päättyy.",
        "ttf_curve": "Koko käyrä",
        "fidelity": "Menetelmäuskollisuus alueittain",
        "fidelity_intro": "Viimeisin IPS-25-menetelmäuskollisuusarvio (25–125 pistettä). Arvio kuvaa palvelua, ei henkilöitä.",
        "costs": "Kustannukset alueittain",
        "costs_intro": "Alueiden ilmoittamat IPS-palvelun kustannukset vuosittain (euroa). Kustannukset kuvaavat palvelua, "
                       "eivät henkilöitä. Asiakaskohtainen luku näytetään vain, jos asiakkaiden määrä, jolla se jaetaan, "
                       "voidaan julkaista; muuten solussa on ”..”. Puuttuva luku (–): alue ei ilmoittanut kustannuksia.",
        "costs_none": "Tässä aineistossa ei ilmoitettu kustannuksia.",
        "cost_effectiveness": "Kustannus työssäolokuukautta kohden",
        "cost_effectiveness_intro": "Vaikuttavuusanalyysin IPS-asiakkaiden palvelun kustannukset {post12_months} kuukaudelta "
                                    "(asiakasvuodet kertaa alueen kustannus asiakasvuotta kohden) jaettuna "
                                    "työssäolokuukausilla, jotka he saivat IPS-palvelun ansiosta samoina {post12_months} kuukautena "
                                    "(vaikuttavuusmallin arvio). Luottamusväli Fiellerin menetelmällä. Luku näytetään vain, kun saatujen "
                                    "työssäolokuukausien luottamusväli on kokonaan nollan yläpuolella. Se on suhdeluku, "
                                    "ei henkilömäärä.",
        "transitions": "Siirtymät etuuksilta työhön ja takaisin",
        "transitions_intro": "Rekisteritutkimus: kuinka suuri osa etuuskuukausista (kuntoutus- tai työkyvyttömyysetuus, "
                             "työttömyysetuus) johti seuraavana kuukautena työhön (palkkatuella tai ilman), ja kuinka suuri osa "
                             "työkuukausista johti etuudelle, {post12_months} kuukauden aikana IPS:n alkamisesta. IPS-asiakkaiden rinnalla "
                             "vertailuryhmä, joka on painotettu vastaamaan IPS-asiakkaita (vaikuttavuusmallin painot). "
                             "Osuus näytetään vain, jos sen takana on vähintään {T} henkilöä; muuten solussa on ”..”.",
        "transitions_none": "Siirtymiä ei vielä ole laskettu tässä aineistossa.",
        "scores": "Asiakkaiden kokema muutos",
        "scores_intro_change": "Keskimääräinen muutos alkukyselystä loppukyselyyn niillä, jotka vastasivat molempiin.",
        "scores_intro_means": "Keskiarvot kyselykierroksittain (vastaajien määrä kullakin kierroksella).",
        "models": "Mallien tulokset",
        "models_intro": "Tilastollisten mallien tulokset julkaistaan vain, kun niissä on riittävästi havaintoja "
                        "(vähintään {min_residual_df} jäännösvapausastetta ja vähintään {T} henkilöä jokaisessa luokassa).",
        "model_employment_predictors": "Avoimille työmarkkinoille työllistymiseen yhteydessä olevat tekijät (vetosuhteet)",
        "model_unsubsidised_predictors": "Ilman palkkatukea työllistymiseen yhteydessä olevat tekijät (vetosuhteet)",
        "model_effectiveness": "Vaikuttavuus rekisterivertailuryhmään nähden (painotettu erotus)",
        "model_fidelity_outcome": "Menetelmäuskollisuuden yhteys työllistymiseen (alueet)",
        "model_not_available": "Ei saatavilla: mallia ei ole vielä laskettu tälle ajolle.",
        "model_not_fitted": "Ei saatavilla: mallia ei voitu sovittaa näillä tiedoilla.",
        "model_not_publishable": "Ei julkaista: tulos ei täytä tietosuojasääntöä (liian vähän havaintoja).",
        "not_available": "Ei saatavilla tälle ajolle.",
        "provenance": "Tietojen alkuperä",
        "prov_cutoff": "Tilannepäivä",
        "prov_quarter": "Neljännes",
        "prov_run": "Ajon tunniste",
        "prov_code": "Ohjelmaversio",
        "prov_input": "Aineiston tunniste (SHA-256)",
        "prov_published": "Julkaistu",
        "prov_threshold": "Pienin julkaistava lukumäärä",
        "history": "Aiemmat julkaisut",
        "history_intro": "Jokaisen neljänneksen luvut säilytetään sellaisina kuin ne julkaistiin.",
        "history_link": "Kaikki julkaisut",
        "history_current": "uusin",
        "this_snapshot": "tämä julkaisu",
        "download_csv": "Lataa taulukko (CSV)",
        "suppression_summary": "Tässä julkaisussa alle {T} henkilön lukuja on {primary}, ja ne näytetään muodossa <{T}. "
                               "Lisäksi {secondary} muuta lukua on jätetty pois (..), jotta pieniä lukuja ei voi laskea summista, muista "
                               "taulukoista tai aiemmista julkaisuista. Pois jätetään ensin yksittäisten alueiden luvut, "
                               "viimeiseksi kaikkien alueiden yhteisluvut.",
        "disclosure_note": "Tietosuoja: alle {T} henkilön lukumäärät näytetään muodossa <{T}. Merkintä .. tarkoittaa, "
                           "että luku on jätetty pois, jotta pientä lukua ei voi päätellä muista luvuista. "
                           "Osuuksia ja keskiarvoja ei näytetä, jos niiden taustalla olevia lukuja ei voi julkaista. "
                           "Merkintä : tarkoittaa, että sarakkeen lukuja ei voitu suojata merkinnöillä <{T} ja .., "
                           "joten niitä ei näytetä eikä niiden suuruudesta kerrota mitään.",
        "footer": "Sijoita ja valmenna! -hankkeen arviointitutkimus. Sivusto on tuotettu automaattisesti tutkimusaineistosta; "
                  "siinä on vain koottuja lukuja.",
        # column headers
        "sub_n": "lkm", "sub_eligible": "seurattavia", "sub_rate": "%",
        "col_alue": "Alue",
        "col_group_value": "Ryhmä",
        "col_quarter": "Neljännes",
        "col_arviointipvm": "Arviointipäivä",
        "col_total": "Pisteet",
        "col_category": "Luokka",
        "col_vuosi": "Vuosi",
        "all_years": "Kaikki vuodet",
        "col_cost_eur": "Kustannukset (€)",
        "col_coach_fte": "Työvalmentajia (htv)",
        "col_cost_per_client_year": "€ / asiakasvuosi",
        "col_cost_per_client": "€ / aloittanut asiakas",
        "col_cost_per_employed": "€ / työllistynyt",
        "col_cost_per_unsubsidised": "€ / työllistynyt ilman palkkatukea",
        "col_cost_per_employed_month_gained": "€ / saatu työssäolokuukausi",
        "col_transition": "Siirtymä",
        "col_rate_ips": "IPS-asiakkaat",
        "col_rate_comparison_weighted": "Vertailuryhmä (painotettu)",
        "transition_benefit_to_work": "Etuudelta työhön",
        "transition_work_to_benefit": "Työstä etuudelle",
        "col_score": "Mittari",
        "col_wave": "Kyselykierros",
        "col_n_responses": "Vastaajia",
        "col_mean": "Keskiarvo",
        "col_n_pairs": "Vastaajia",
        "col_mean_baseline": "Alussa",
        "col_mean_final": "Lopussa",
        "col_mean_change": "Muutos",
        "col_ci_low": "95 %:n luottamusväli, alaraja",
        "col_ci_high": "95 %:n luottamusväli, yläraja",
        "col_term": "Tekijä",
        "col_estimator": "Menetelmä", "estimator_ipw": "IPW-painot (pääestimaatti)",
        "estimator_aipw": "AIPW, kaksinkertaisesti robusti (herkkyysanalyysi)", "estimator_overlap": "Päällekkäisyyspainot (herkkyysanalyysi)",
        "estimator_mi": "Moni-imputointi (pääestimaatti)", "estimator_complete_case": "Täydelliset havainnot (herkkyysanalyysi)",
        "col_estimate": "Estimaatti",
        "col_p_value": "p-arvo",
        "col_months": "Kuukautta aloituksesta",
        "col_time": "Päivää aloituksesta",
        "col_n_at_risk": "Seurannassa (pyöristetty)",
        "col_share": "Työllistyneiden osuus",
        "col_share_ci_low": "Luottamusväli, alaraja",
        "col_share_ci_high": "Luottamusväli, yläraja",
        # chart texts
        "chart_trend_title": "Työssä olevien osuus, kaikki alueet",
        "chart_trend_y": "Osuus palvelussa olleista",
        "chart_trend_alt": "Viivakaavio: työssä olevien osuus neljännesvuosittain {first}–{last}, viimeisin {last_rate}. "
                           "Vaakaviivat: IPS-vertailutasot {benchmark_minimal}, {benchmark_average} ja {benchmark_excellent}. Luvut ovat alla olevassa taulukossa.",
        "bench_minimal": "vähimmäistaso",
        "bench_average": "keskitaso",
        "bench_excellent": "erinomainen",
        "chart_ttf_title": "Ensimmäisen työn saaneiden osuus",
        "chart_ttf_x": "Kuukautta aloituksesta",
        "chart_ttf_y": "Osuus asiakkaista",
        "chart_ttf_alt": "Porraskäyrä: ensimmäisen työn saaneiden osuus ajan funktiona, 95 %:n luottamusväli. "
                         "{long_months} kuukauden kohdalla {share}. Luvut ovat alla olevassa taulukossa.",
        "ci_band": "95 %:n luottamusväli",
        # value labels
        "ALL": "Kaikki alueet",
        "grouping_wave": "Aloitusaalto",
        "grouping_smi": "Vakava mielenterveyden häiriö",
        "grouping_gender": "Sukupuoli",
        "grouping_age_group": "Ikäryhmä",
        "wave_1": "1. aalto", "wave_2": "2. aalto",
        "smi_yes": "kyllä", "smi_no": "ei", "smi_unknown": "ei tietoa",
        "gender_1": "mies", "gender_2": "nainen", "gender_9": "ei tietoa",
        "unknown": "ei tietoa",
        "age_suffix": "vuotta",
        "cat_exemplary": "erinomainen", "cat_good": "hyvä", "cat_fair": "kohtalainen", "cat_not_ips": "ei IPS",
        "survey_baseline": "alku", "survey_midpoint": "puoliväli", "survey_final": "loppu",
        "score_work_ability": "Työkyky (0–10)",
        "score_swemwbs": "Hyvinvointi (SWEMWBS, 7–35)",
        "score_eurohis": "Elämänlaatu (EUROHIS-QOL, 1–5)",
        "score_inclusion": "Osallisuus (8–40)",
        "score_self_efficacy": "Pystyvyyden tunne (10–40)",
        "score_rtw_readiness": "Valmius palata työhön (1–5)",
        "score_stigma": "Koettu leimautuminen (ISMI-10, 1–4)",
        "term_employed_months_post12": "Työkuukaudet {post12_months} kk:n aikana (erotus, kk)",
        "term_earnings_post12": "Ansiot {post12_months} kk:n aikana (erotus, €)",
        "term_employed_months_post24": "Työkuukaudet {post24_months} kk:n aikana (erotus, kk)",
        "term_earnings_post24": "Ansiot {post24_months} kk:n aikana (erotus, €)",
        "term_fidelity_total_per10": "Menetelmäuskollisuus (10 pisteen lisäys)",
        "term_smi": "Vakava mielenterveyden häiriö",
        "term_age_group": "Ikäryhmä", "term_gender": "Sukupuoli", "term_education": "Koulutus",
        "term_work_history": "Työhistoria", "vs": "vrt.",
        "education_1": "perusaste", "education_2": "lukio", "education_3": "ammatillinen", "education_4": "korkea-aste",
        "work_history_0": "ei työkokemusta", "work_history_1": "alle 1 v", "work_history_2": "1–5 v", "work_history_3": "yli 5 v",
        "col_ci": "95 %:n luottamusväli", "sub_low": "alaraja", "sub_high": "yläraja",
        "model_n": "Havaintoja",
    },
    "sv": {
        "study": "Sijoita ja valmenna! – utvärderingen av IPS",
        "site_title": "Resultat",
        "skip": "Gå till innehållet",
        "lead": "Resultat av individuellt stöd till arbete (IPS) för personer med psykisk ohälsa. "
                "Siffrorna uppdateras varje kvartal.",
        "cutoff_label": "Uppgifter",
        "cutoff_phrase": "läget {cutoff}",
        "nav": "Sidans avsnitt",
        "languages": "Språk",
        "headline": "Huvudresultat",
        "headline_intro": "Alla områden sammanlagt. Andelarna är beräknade bland de klienter vars uppföljningstid räcker till.",
        "of_clients": "av klienterna",
        "of_eligible": "av {n} uppföljda",
        "counties": "Per område",
        "counties_intro": "En rad för varje välfärdsområde och alla områden sammanlagt.",
        "groups": "Per klientgrupp",
        "groups_intro": "Alla områden sammanlagt, efter klienternas bakgrund.",
        "trend": "Andelen i arbete per kvartal",
        "trend_intro": "Andelen visar hur många av klienterna i tjänsten under kvartalet som hade arbete på den öppna "
                       "arbetsmarknaden under kvartalet. "
                       "Referenslinjerna är nivåerna i det internationella IPS-nätverket: {benchmark_minimal} (miniminivå), "
                       "{benchmark_average} (medelnivå) och {benchmark_excellent} (utmärkt).",
        "trend_by_county": "Kvartalssiffror per område",
        "ttf": "Tid till första arbetet",
        "ttf_intro": "Kaplan–Meier-skattning av andelen klienter som fått sitt första arbete på den öppna "
                     "arbetsmarknaden, efter tid sedan start (avslutad tjänst censurerar).",
        "ttf_curve": "Hela kurvan",
        "fidelity": "Metodtrohet per område",
        "fidelity_intro": "Den senaste IPS-25-bedömningen av metodtrohet (25–125 poäng). Bedömningen beskriver tjänsten, inte personer.",
        "costs": "Kostnader per område",
        "costs_intro": "IPS-tjänstens kostnader per år som områdena rapporterat (euro). Kostnaderna beskriver tjänsten, "
                       "inte personer. En kostnad per klient visas bara när antalet klienter den delas med kan "
                       "publiceras; annars står ”..” i cellen. Saknad siffra (–): området rapporterade inga kostnader.",
        "costs_none": "Inga kostnader rapporterades i denna leverans.",
        "cost_effectiveness": "Kostnad per vunnen sysselsatt månad",
        "cost_effectiveness_intro": "Tjänstens kostnader för IPS-klienterna i effektanalysen under {post12_months} månader (klientår "
                                    "gånger områdets kostnad per klientår) delade med de sysselsatta månader som IPS gav "
                                    "dem under samma {post12_months} månader (effektmodellens skattning). Konfidensintervallet med "
                                    "Fiellers metod. Siffran visas bara när intervallet för de vunna sysselsatta månaderna "
                                    "ligger helt över noll. Den är en kvot, inte ett antal personer.",
        "transitions": "Övergångar från förmåner till arbete och tillbaka",
        "transitions_intro": "Registerstudien: hur stor andel av förmånsmånaderna (rehabiliterings- eller "
                             "invaliditetsförmån, arbetslöshetsförmån) som följdes av arbete (med eller utan lönesubvention) "
                             "månaden efter, och hur stor andel av arbetsmånaderna som följdes av en förmån, under de {post12_months} "
                             "månaderna från IPS-starten. Bredvid IPS-klienterna en jämförelsegrupp som vägts för att likna "
                             "dem (effektmodellens vikter). En andel visas bara när minst {T} personer ligger bakom den; "
                             "annars visar cellen ”..”.",
        "transitions_none": "Övergångarna har ännu inte beräknats i denna leverans.",
        "scores": "Klienternas upplevda förändring",
        "scores_intro_change": "Genomsnittlig förändring från första till sista enkäten bland dem som svarade på båda.",
        "scores_intro_means": "Medelvärden per enkätomgång (antalet svarande i varje omgång).",
        "models": "Resultat av modellerna",
        "models_intro": "Resultat av statistiska modeller publiceras bara när de bygger på tillräckligt många observationer "
                        "(minst {min_residual_df} residualfrihetsgrader och minst {T} personer i varje kategori).",
        "model_employment_predictors": "Faktorer som hänger samman med arbete på den öppna arbetsmarknaden (oddskvoter)",
        "model_unsubsidised_predictors": "Faktorer som hänger samman med arbete utan lönesubvention (oddskvoter)",
        "model_effectiveness": "Effekt jämfört med registerjämförelsegruppen (viktad skillnad)",
        "model_fidelity_outcome": "Sambandet mellan metodtrohet och sysselsättning (områden)",
        "model_not_available": "Inte tillgängligt: modellen har ännu inte beräknats för denna körning.",
        "model_not_fitted": "Inte tillgängligt: modellen kunde inte anpassas till dessa data.",
        "model_not_publishable": "Publiceras inte: resultatet uppfyller inte dataskyddsregeln (för få observationer).",
        "not_available": "Inte tillgängligt för denna körning.",
        "provenance": "Uppgifternas ursprung",
        "prov_cutoff": "Lägesdatum",
        "prov_quarter": "Kvartal",
        "prov_run": "Körningens id",
        "prov_code": "Programversion",
        "prov_input": "Materialets fingeravtryck (SHA-256)",
        "prov_published": "Publicerad",
        "prov_threshold": "Minsta antal som publiceras",
        "history": "Tidigare publiceringar",
        "history_intro": "Varje kvartals siffror bevaras såsom de publicerades.",
        "history_link": "Alla publiceringar",
        "history_current": "senaste",
        "this_snapshot": "denna publicering",
        "download_csv": "Ladda ner tabellen (CSV)",
        "suppression_summary": "I denna publicering finns det {primary} antal under {T} personer, och de visas som <{T}. "
                               "Dessutom har {secondary} andra siffror utelämnats (..) så att små antal inte kan räknas ut ur summor, andra tabeller "
                               "eller tidigare publiceringar. Först utelämnas enskilda områdens siffror, sist siffrorna "
                               "för alla områden.",
        "disclosure_note": "Dataskydd: antal under {T} personer visas som <{T}. Tecknet .. betyder att siffran har utelämnats "
                           "så att ett litet antal inte kan räknas ut ur de andra siffrorna. Andelar och medelvärden "
                           "visas inte när siffrorna bakom dem inte kan publiceras. Tecknet : betyder att kolumnens siffror inte "
                           "kunde skyddas med tecknen <{T} och .., och därför visas de inte och inget sägs om deras storlek.",
        "footer": "Utvärderingen av projektet Sijoita ja valmenna!. Webbplatsen skapas automatiskt ur forskningsmaterialet; "
                  "den innehåller endast sammanställda siffror.",
        "sub_n": "antal", "sub_eligible": "uppföljda", "sub_rate": "%",
        "col_alue": "Område",
        "col_group_value": "Grupp",
        "col_quarter": "Kvartal",
        "col_arviointipvm": "Bedömningsdatum",
        "col_total": "Poäng",
        "col_category": "Nivå",
        "col_vuosi": "År",
        "all_years": "Alla år",
        "col_cost_eur": "Kostnader (€)",
        "col_coach_fte": "Arbetscoacher (åv)",
        "col_cost_per_client_year": "€ / klientår",
        "col_cost_per_client": "€ / klient som började",
        "col_cost_per_employed": "€ / sysselsatt",
        "col_cost_per_unsubsidised": "€ / sysselsatt utan lönesubvention",
        "col_cost_per_employed_month_gained": "€ / vunnen sysselsatt månad",
        "col_transition": "Övergång",
        "col_rate_ips": "IPS-klienter",
        "col_rate_comparison_weighted": "Jämförelsegrupp (vägd)",
        "transition_benefit_to_work": "Från förmån till arbete",
        "transition_work_to_benefit": "Från arbete till förmån",
        "col_score": "Mätare",
        "col_wave": "Enkätomgång",
        "col_n_responses": "Svarande",
        "col_mean": "Medelvärde",
        "col_n_pairs": "Svarande",
        "col_mean_baseline": "I början",
        "col_mean_final": "I slutet",
        "col_mean_change": "Förändring",
        "col_ci_low": "95 % konfidensintervall, nedre gräns",
        "col_ci_high": "95 % konfidensintervall, övre gräns",
        "col_term": "Faktor",
        "col_estimator": "Metod", "estimator_ipw": "IPW-vikter (huvudskattning)",
        "estimator_aipw": "AIPW, dubbelt robust (känslighetsanalys)", "estimator_overlap": "Överlappsvikter (känslighetsanalys)",
        "estimator_mi": "Multipel imputering (huvudskattning)", "estimator_complete_case": "Fullständiga fall (känslighetsanalys)",
        "col_estimate": "Skattning",
        "col_p_value": "p-värde",
        "col_months": "Månader sedan start",
        "col_time": "Dagar sedan start",
        "col_n_at_risk": "Under uppföljning (avrundat)",
        "col_share": "Andel med arbete",
        "col_share_ci_low": "Konfidensintervall, nedre gräns",
        "col_share_ci_high": "Konfidensintervall, övre gräns",
        "chart_trend_title": "Andelen i arbete, alla områden",
        "chart_trend_y": "Andel av klienterna i tjänsten",
        "chart_trend_alt": "Linjediagram: andelen i arbete per kvartal {first}–{last}, senast {last_rate}. "
                           "Vågräta linjer: IPS-referensnivåerna {benchmark_minimal}, {benchmark_average} och {benchmark_excellent}. Siffrorna finns i tabellen nedan.",
        "bench_minimal": "miniminivå",
        "bench_average": "medelnivå",
        "bench_excellent": "utmärkt",
        "chart_ttf_title": "Andelen som fått sitt första arbete",
        "chart_ttf_x": "Månader sedan start",
        "chart_ttf_y": "Andel av klienterna",
        "chart_ttf_alt": "Trappstegskurva: andelen som fått sitt första arbete över tid, med 95 % konfidensintervall. "
                         "Vid {long_months} månader {share}. Siffrorna finns i tabellen nedan.",
        "ci_band": "95 % konfidensintervall",
        "ALL": "Alla områden",
        "grouping_wave": "Startomgång",
        "grouping_smi": "Allvarlig psykisk störning",
        "grouping_gender": "Kön",
        "grouping_age_group": "Åldersgrupp",
        "wave_1": "omgång 1", "wave_2": "omgång 2",
        "smi_yes": "ja", "smi_no": "nej", "smi_unknown": "uppgift saknas",
        "gender_1": "man", "gender_2": "kvinna", "gender_9": "uppgift saknas",
        "unknown": "uppgift saknas",
        "age_suffix": "år",
        "cat_exemplary": "utmärkt", "cat_good": "god", "cat_fair": "måttlig", "cat_not_ips": "inte IPS",
        "survey_baseline": "början", "survey_midpoint": "mitten", "survey_final": "slutet",
        "score_work_ability": "Arbetsförmåga (0–10)",
        "score_swemwbs": "Välbefinnande (SWEMWBS, 7–35)",
        "score_eurohis": "Livskvalitet (EUROHIS-QOL, 1–5)",
        "score_inclusion": "Delaktighet (8–40)",
        "score_self_efficacy": "Tilltro till egen förmåga (10–40)",
        "score_rtw_readiness": "Beredskap att återgå i arbete (1–5)",
        "score_stigma": "Upplevd stigmatisering (ISMI-10, 1–4)",
        "term_employed_months_post12": "Arbetsmånader under {post12_months} mån (skillnad, mån)",
        "term_earnings_post12": "Inkomster under {post12_months} mån (skillnad, €)",
        "term_employed_months_post24": "Arbetsmånader under {post24_months} mån (skillnad, mån)",
        "term_earnings_post24": "Inkomster under {post24_months} mån (skillnad, €)",
        "term_fidelity_total_per10": "Metodtrohet (ökning med 10 poäng)",
        "term_smi": "Allvarlig psykisk störning",
        "term_age_group": "Åldersgrupp", "term_gender": "Kön", "term_education": "Utbildning",
        "term_work_history": "Arbetshistoria", "vs": "jfr",
        "education_1": "grundnivå", "education_2": "gymnasium", "education_3": "yrkesutbildning", "education_4": "högre utbildning",
        "work_history_0": "ingen arbetserfarenhet", "work_history_1": "under 1 år", "work_history_2": "1–5 år", "work_history_3": "över 5 år",
        "col_ci": "95 % konfidensintervall", "sub_low": "nedre", "sub_high": "övre",
        "model_n": "Observationer",
    },
    "en": {
        "study": "Sijoita ja valmenna! – the IPS evaluation study",
        "site_title": "Results",
        "skip": "Skip to content",
        "lead": "Results of Individual Placement and Support (IPS) for people with mental illness in Finland. "
                "The figures are updated every quarter.",
        "cutoff_label": "Data",
        "cutoff_phrase": "as of {cutoff}",
        "nav": "Sections of this page",
        "languages": "Language",
        "headline": "Headline figures",
        "headline_intro": "All counties together. Shares are of the clients followed up long enough.",
        "of_clients": "of clients",
        "of_eligible": "of {n} followed up",
        "counties": "By county",
        "counties_intro": "A row for each wellbeing services county and for all counties together.",
        "groups": "By client group",
        "groups_intro": "All counties together, by the clients' background.",
        "trend": "Share in work by quarter",
        "trend_intro": "Of the clients in service during the quarter, those with an open-labour-market job in it. "
                       "The reference lines are the benchmarks of the international IPS learning community: "
                       "{benchmark_minimal} (minimal), {benchmark_average} (average) and {benchmark_excellent} (excellent).",
        "trend_by_county": "Quarterly figures by county",
        "ttf": "Time to first job",
        "ttf_intro": "Kaplan–Meier estimate of the share of clients who have had their first open-labour-market job, "
                     "by time since starting (leaving the service censors).",
        "ttf_curve": "The whole curve",
        "fidelity": "Fidelity by county",
        "fidelity_intro": "The latest IPS-25 fidelity review (25–125 points). It describes the service, not people.",
        "costs": "Costs by county",
        "costs_intro": "What the IPS service cost per year, as the counties reported it (euros). Costs describe the "
                       "service, not people. A cost per client is shown only where the number of clients it divides "
                       "by can be published; otherwise the cell shows “..”. A missing figure (–): the county reported "
                       "no costs.",
        "costs_none": "No costs were reported in this delivery.",
        "cost_effectiveness": "Cost per employed month gained",
        "cost_effectiveness_intro": "The service's cost of the IPS clients in the effectiveness analysis over {post12_months} months "
                                    "(their client-years times their county's cost per client-year) divided by the "
                                    "employed months IPS gained them over the same {post12_months} months (the effectiveness model's "
                                    "estimate), with Fieller's confidence interval. Shown only when the "
                                    "interval of the months gained lies wholly above zero. It is a ratio, not a count of "
                                    "people.",
        "transitions": "Moving from benefits into work, and back",
        "transitions_intro": "The register study: the share of months on a benefit (rehabilitation or disability benefit, "
                             "unemployment benefit) followed by a month in work (with or without pay subsidy), and the share "
                             "of months in work followed by a month on a benefit, in the {post12_months} months from the start of IPS. "
                             "Beside the IPS clients, a comparison group weighted to resemble them (the effectiveness "
                             "model's weights). A share is shown only when at least {T} people are behind it; otherwise "
                             "the cell shows “..”.",
        "transitions_none": "The transitions have not been computed for this delivery yet.",
        "scores": "Client-reported change",
        "scores_intro_change": "Mean change from the first to the last survey among those who answered both.",
        "scores_intro_means": "Means by survey wave (number of respondents in each wave).",
        "models": "Model results",
        "models_intro": "Results of statistical models are published only when they rest on enough observations "
                        "(at least {min_residual_df} residual degrees of freedom and at least {T} people in every category).",
        "model_employment_predictors": "Factors associated with open-labour-market employment (odds ratios)",
        "model_unsubsidised_predictors": "Factors associated with employment without pay subsidy (odds ratios)",
        "model_effectiveness": "Effectiveness against the register comparison group (weighted difference)",
        "model_fidelity_outcome": "Fidelity and employment (counties)",
        "model_not_available": "Not available: the model has not been computed for this run yet.",
        "model_not_fitted": "Not available: the model could not be fitted to these data.",
        "model_not_publishable": "Not published: the result does not meet the disclosure rule (too few observations).",
        "not_available": "Not available for this run.",
        "provenance": "Provenance",
        "prov_cutoff": "Cut-off date",
        "prov_quarter": "Quarter",
        "prov_run": "Run id",
        "prov_code": "Code version",
        "prov_input": "Input fingerprint (SHA-256)",
        "prov_published": "Published",
        "prov_threshold": "Smallest count published",
        "history": "Earlier releases",
        "history_intro": "Every quarter's figures are kept as they were published.",
        "history_link": "All releases",
        "history_current": "latest",
        "this_snapshot": "this release",
        "download_csv": "Download the table (CSV)",
        "suppression_summary": "In this release {primary} counts of fewer than {T} people are shown as <{T}, and {secondary} "
                               "other figures are left out (..) so that the small counts cannot be worked out from "
                               "totals, other tables or earlier releases. Single areas' figures are left out first, "
                               "the figures of all areas last.",
        "disclosure_note": "Disclosure control: counts of fewer than {T} people are shown as <{T}. The mark .. means a figure "
                           "was left out so that a small count cannot be worked out from the others. Shares and means "
                           "are not shown when the counts behind them cannot be published. The mark : means that a column's figures could "
                           "not be protected with the marks <{T} and .., so they are not shown and nothing is said of "
                           "their size.",
        "footer": "The evaluation study of the Sijoita ja valmenna! project. This site is generated automatically from the "
                  "research data; it holds aggregate figures only.",
        "sub_n": "n", "sub_eligible": "followed up", "sub_rate": "%",
        "col_alue": "County",
        "col_group_value": "Group",
        "col_quarter": "Quarter",
        "col_arviointipvm": "Review date",
        "col_total": "Points",
        "col_category": "Level",
        "col_vuosi": "Year",
        "all_years": "All years",
        "col_cost_eur": "Cost (€)",
        "col_coach_fte": "Job coaches (FTE)",
        "col_cost_per_client_year": "€ per client-year",
        "col_cost_per_client": "€ per client who started",
        "col_cost_per_employed": "€ per employed client",
        "col_cost_per_unsubsidised": "€ per client employed without pay subsidy",
        "col_cost_per_employed_month_gained": "€ per employed month gained",
        "col_transition": "Transition",
        "col_rate_ips": "IPS clients",
        "col_rate_comparison_weighted": "Comparison group (weighted)",
        "transition_benefit_to_work": "From a benefit into work",
        "transition_work_to_benefit": "From work onto a benefit",
        "col_score": "Measure",
        "col_wave": "Survey wave",
        "col_n_responses": "Respondents",
        "col_mean": "Mean",
        "col_n_pairs": "Respondents",
        "col_mean_baseline": "At start",
        "col_mean_final": "At end",
        "col_mean_change": "Change",
        "col_ci_low": "95% confidence interval, lower",
        "col_ci_high": "95% confidence interval, upper",
        "col_term": "Factor",
        "col_estimator": "Estimator", "estimator_ipw": "IPW weights (main estimate)",
        "estimator_aipw": "AIPW, doubly robust (sensitivity)", "estimator_overlap": "Overlap weights (sensitivity)",
        "estimator_mi": "Multiple imputation (main estimate)", "estimator_complete_case": "Complete cases (sensitivity)",
        "col_estimate": "Estimate",
        "col_p_value": "p-value",
        "col_months": "Months since start",
        "col_time": "Days since start",
        "col_n_at_risk": "Followed up (rounded)",
        "col_share": "Share with a job",
        "col_share_ci_low": "Confidence interval, lower",
        "col_share_ci_high": "Confidence interval, upper",
        "chart_trend_title": "Share in work, all counties",
        "chart_trend_y": "Share of clients in service",
        "chart_trend_alt": "Line chart: share in work by quarter, {first} to {last}, latest {last_rate}. "
                           "Horizontal lines: the IPS benchmarks {benchmark_minimal}, {benchmark_average} and {benchmark_excellent}. The figures are in the table below.",
        "bench_minimal": "minimal",
        "bench_average": "average",
        "bench_excellent": "excellent",
        "chart_ttf_title": "Share who have had a first job",
        "chart_ttf_x": "Months since start",
        "chart_ttf_y": "Share of clients",
        "chart_ttf_alt": "Step curve: share who have had their first job over time, with a 95% confidence band. "
                         "At {long_months} months {share}. The figures are in the table below.",
        "ci_band": "95% confidence interval",
        "ALL": "All counties",
        "grouping_wave": "Intake wave",
        "grouping_smi": "Severe mental illness",
        "grouping_gender": "Gender",
        "grouping_age_group": "Age group",
        "wave_1": "wave 1", "wave_2": "wave 2",
        "smi_yes": "yes", "smi_no": "no", "smi_unknown": "not known",
        "gender_1": "man", "gender_2": "woman", "gender_9": "not known",
        "unknown": "not known",
        "age_suffix": "years",
        "cat_exemplary": "exemplary", "cat_good": "good", "cat_fair": "fair", "cat_not_ips": "not IPS",
        "survey_baseline": "start", "survey_midpoint": "midpoint", "survey_final": "end",
        "score_work_ability": "Work ability (0–10)",
        "score_swemwbs": "Wellbeing (SWEMWBS, 7–35)",
        "score_eurohis": "Quality of life (EUROHIS-QOL, 1–5)",
        "score_inclusion": "Social inclusion (8–40)",
        "score_self_efficacy": "Self-efficacy (10–40)",
        "score_rtw_readiness": "Readiness to return to work (1–5)",
        "score_stigma": "Internalised stigma (ISMI-10, 1–4)",
        "term_employed_months_post12": "Months in work over {post12_months} months (difference, months)",
        "term_earnings_post12": "Earnings over {post12_months} months (difference, €)",
        "term_employed_months_post24": "Months in work over {post24_months} months (difference, months)",
        "term_earnings_post24": "Earnings over {post24_months} months (difference, €)",
        "term_fidelity_total_per10": "Fidelity (per 10 points)",
        "term_smi": "Severe mental illness",
        "term_age_group": "Age group", "term_gender": "Gender", "term_education": "Education",
        "term_work_history": "Work history", "vs": "vs",
        "education_1": "basic", "education_2": "upper secondary", "education_3": "vocational", "education_4": "higher",
        "work_history_0": "no work experience", "work_history_1": "under 1 year", "work_history_2": "1–5 years", "work_history_3": "over 5 years",
        "col_ci": "95% confidence interval", "sub_low": "lower", "sub_high": "upper",
        "model_n": "Observations",
    },
}

#: The downloads in the page's language and their data dictionary (`downloads`), kept as a
#: block of their own so that the three languages of one feature are read side by side.
_DOWNLOAD_TEMPLATES: dict[str, dict[str, str]] = {
    "fi": {
        "download_table": "Lataa taulukko:",
        "download_xlsx": "Excel (XLSX)",
        "download_dictionary": "tietosisällön kuvaus",
        "col_months_since_start": "Kuukautta aloituksesta",
        "unit_count": "henkilöä", "unit_rate": "%", "unit_money": "euroa", "unit_months": "kuukautta",
        "unit_date": "päivämäärä",
        "dict_title": "Tietosisällön kuvaus",
        "dict_file": "Tiedosto", "dict_file_about": "Tiedoston nimi (sama taulukko XLSX- ja CSV-muodossa).",
        "dict_table": "Taulukko", "dict_table_about": "Taulukon otsikko verkkosivulla.",
        "dict_column": "Sarake", "dict_column_about": "Sarakkeen otsikko tiedostossa.",
        "dict_source": "Lähde tietovarastossa",
        "dict_source_about": "Tietovaraston taulu ja sarake, josta luku on (tyhjä: laskettu sivustoa varten).",
        "dict_description": "Kuvaus", "dict_description_about": "Mitä sarake sisältää.",
        "dict_definition": "Määritelmä (englanniksi)",
        "dict_definition_about": "Sarakkeen määritelmä tietovaraston kuvauksesta (englanniksi).",
        "dict_unit": "Yksikkö", "dict_unit_about": "Lukujen yksikkö.",
        "dict_values": "Arvot", "dict_values_about": "Luokkien koodit ja nimet (koodit ovat data/-kansion CSV-tiedostoissa).",
        "dict_rule": "Tietosuojasääntö", "dict_rule_about": "Milloin luku näytetään ja mitä merkinnät tarkoittavat.",
        "dict_rule_count": "Alle {T} henkilön lukumäärä näytetään muodossa <{T}. Merkintä .. tarkoittaa, että luku on "
                           "jätetty pois, jotta pientä lukua ei voi päätellä muista luvuista; : tarkoittaa, ettei "
                           "sarakkeen lukuja voitu suojata.",
        "dict_rule_rate": "Osuus näytetään vain, kun sen osoittaja ja nimittäjä voidaan julkaista; muuten ..",
        "dict_rule_summary": "Näytetään vain, kun sen takana on vähintään {T} henkilöä; muuten ..",
    },
    "sv": {
        "download_table": "Ladda ner tabellen:",
        "download_xlsx": "Excel (XLSX)",
        "download_dictionary": "databeskrivning",
        "col_months_since_start": "Månader från start",
        "unit_count": "personer", "unit_rate": "%", "unit_money": "euro", "unit_months": "månader",
        "unit_date": "datum",
        "dict_title": "Databeskrivning",
        "dict_file": "Fil", "dict_file_about": "Filens namn (samma tabell i XLSX- och CSV-format).",
        "dict_table": "Tabell", "dict_table_about": "Tabellens rubrik på webbplatsen.",
        "dict_column": "Kolumn", "dict_column_about": "Kolumnens rubrik i filen.",
        "dict_source": "Källa i datalagret",
        "dict_source_about": "Datalagrets tabell och kolumn som talet kommer från (tom: beräknat för webbplatsen).",
        "dict_description": "Beskrivning", "dict_description_about": "Vad kolumnen innehåller.",
        "dict_definition": "Definition (på engelska)",
        "dict_definition_about": "Kolumnens definition i datalagrets beskrivning (på engelska).",
        "dict_unit": "Enhet", "dict_unit_about": "Talens enhet.",
        "dict_values": "Värden", "dict_values_about": "Klassernas koder och namn (koderna finns i CSV-filerna i mappen data/).",
        "dict_rule": "Dataskyddsregel", "dict_rule_about": "När talet visas och vad markeringarna betyder.",
        "dict_rule_count": "Antal under {T} personer visas som <{T}. Markeringen .. betyder att talet har utelämnats så "
                           "att ett litet antal inte kan härledas ur andra tal; : betyder att kolumnens tal inte "
                           "kunde skyddas.",
        "dict_rule_rate": "Andelen visas bara när dess täljare och nämnare kan publiceras; annars ..",
        "dict_rule_summary": "Visas bara när minst {T} personer ligger bakom; annars ..",
    },
    "en": {
        "download_table": "Download the table:",
        "download_xlsx": "Excel (XLSX)",
        "download_dictionary": "data dictionary",
        "col_months_since_start": "Months since the start",
        "unit_count": "people", "unit_rate": "%", "unit_money": "euros", "unit_months": "months",
        "unit_date": "date",
        "dict_title": "Data dictionary",
        "dict_file": "File", "dict_file_about": "The file's name (the same table as XLSX and CSV).",
        "dict_table": "Table", "dict_table_about": "The table's title on the website.",
        "dict_column": "Column", "dict_column_about": "The column's heading in the file.",
        "dict_source": "Source in the warehouse",
        "dict_source_about": "The warehouse table and column the figure comes from (empty: computed for the site).",
        "dict_description": "Description", "dict_description_about": "What the column holds.",
        "dict_definition": "Definition",
        "dict_definition_about": "The column's definition in the warehouse's description.",
        "dict_unit": "Unit", "dict_unit_about": "The unit of the numbers.",
        "dict_values": "Values", "dict_values_about": "The classes' codes and names (the codes are in the CSV files of data/).",
        "dict_rule": "Disclosure rule", "dict_rule_about": "When the figure is shown and what the marks mean.",
        "dict_rule_count": "Counts of fewer than {T} people are shown as <{T}. The mark .. means the figure is left "
                           "out so that a small count cannot be worked out from other figures; : means the column's "
                           "figures could not be protected.",
        "dict_rule_rate": "A share is shown only when its numerator and denominator can be published; otherwise ..",
        "dict_rule_summary": "Shown only when at least {T} people are behind it; otherwise ..",
    },
}

#: What a reader must know beside a model's estimates (`tables.model_caveats`).
_CAVEAT_TEMPLATES: dict[str, dict[str, str]] = {
    "fi": {
        "col_n": "Havaintoja",
        "col_term_effectiveness": "Tulosmuuttuja",
        "hidden_note_groups": "Merkinnällä .. näytetyt luvut on jätetty pois, jotta näiden ryhmien pieniä lukuja (<{T}) "
                              "ei voi laskea summista: {groups}.",
        "hidden_note_elsewhere": "Merkinnällä .. näytetyt luvut on jätetty pois, jotta muiden taulukoiden tai aiempien "
                                 "julkaisujen pieniä lukuja (<{T}) ei voi laskea niistä.",
        "caveat_negative_control_post24": "Huomio: {post24_months} kuukauden vaikutusten negatiivinen kontrolli ei "
                                          "läpäissyt testiä. IPS-asiakkaat ja vertailuryhmä erosivat jo ennen "
                                          "IPS-palvelua tavalla, jota painotus ei poistanut, joten {post24_months} "
                                          "kuukauden arviot voivat olla harhaisia. Tulkitse niitä varoen.",
        "caveat_negative_control_all": "Huomio: mallin negatiivinen kontrolli ei läpäissyt testiä. IPS-asiakkaat ja "
                                       "vertailuryhmä erosivat jo ennen IPS-palvelua tavalla, jota painotus ei "
                                       "poistanut, joten arviot voivat olla harhaisia. Tulkitse niitä varoen.",
        "caveat_diagnostic_post24": "Huomio: {post24_months} kuukauden vaikutusten mallitarkistus ei täyttänyt "
                                    "ehtoaan. Tulkitse {post24_months} kuukauden arvioita varoen.",
        "caveat_diagnostic_all": "Huomio: mallin tarkistus ei täyttänyt ehtoaan. Tulkitse arvioita varoen.",
        "caveat_warning": "Huomio: mallin sovitukseen liittyy varoitus. Tulkitse arvioita varoen.",
        "caveat_populations": "Rivien arviot on laskettu eri joukoissa ({post24_months} kuukauden vaikutukset vain "
                              "niistä, joiden {post24_months} kuukauden seuranta on päättynyt), joten havaintojen "
                              "määrä on kunkin rivin kohdalla.",
    },
    "sv": {
        "col_n": "Observationer",
        "col_term_effectiveness": "Utfallsmått",
        "hidden_note_groups": "Siffror som visas som .. har utelämnats så att de små antalen (<{T}) i dessa grupper inte "
                              "kan räknas ut ur summor: {groups}.",
        "hidden_note_elsewhere": "Siffror som visas som .. har utelämnats så att små antal (<{T}) i andra tabeller eller "
                                 "tidigare publiceringar inte kan räknas ut ur dem.",
        "caveat_negative_control_post24": "Obs: den negativa kontrollen för effekterna efter {post24_months} månader "
                                          "klarade inte testet. IPS-klienterna och jämförelsegruppen skilde sig redan "
                                          "före IPS på ett sätt som viktningen inte tog bort, så skattningarna för "
                                          "{post24_months} månader kan vara snedvridna. Tolka dem med försiktighet.",
        "caveat_negative_control_all": "Obs: modellens negativa kontroll klarade inte testet. IPS-klienterna och "
                                       "jämförelsegruppen skilde sig redan före IPS på ett sätt som viktningen inte "
                                       "tog bort, så skattningarna kan vara snedvridna. Tolka dem med försiktighet.",
        "caveat_diagnostic_post24": "Obs: en modellkontroll för effekterna efter {post24_months} månader uppfyllde "
                                    "inte sitt villkor. Tolka skattningarna för {post24_months} månader med "
                                    "försiktighet.",
        "caveat_diagnostic_all": "Obs: en modellkontroll uppfyllde inte sitt villkor. Tolka skattningarna med "
                                 "försiktighet.",
        "caveat_warning": "Obs: modellanpassningen gav en varning. Tolka skattningarna med försiktighet.",
        "caveat_populations": "Radernas skattningar är beräknade i olika grupper (effekterna efter {post24_months} "
                              "månader bara för dem vars uppföljning på {post24_months} månader har avslutats), "
                              "så antalet observationer anges på varje rad.",
    },
    "en": {
        "col_n": "Observations",
        "col_term_effectiveness": "Outcome",
        "hidden_note_groups": "Cells marked .. are left out so that the small counts (<{T}) of these groups cannot be "
                              "worked out from totals: {groups}.",
        "hidden_note_elsewhere": "Cells marked .. are left out so that small counts (<{T}) in other tables or earlier "
                                 "releases cannot be worked out from them.",
        "caveat_negative_control_post24": "Note: the negative control of the {post24_months}-month effects failed. "
                                          "IPS clients and the comparison group already differed before IPS in a "
                                          "way the weighting did not remove, so the {post24_months}-month estimates "
                                          "may be biased. Read them with caution.",
        "caveat_negative_control_all": "Note: the model's negative control failed. IPS clients and the comparison "
                                       "group already differed before IPS in a way the weighting did not remove, so "
                                       "the estimates may be biased. Read them with caution.",
        "caveat_diagnostic_post24": "Note: a check of the {post24_months}-month effects' model failed. Read the "
                                    "{post24_months}-month estimates with caution.",
        "caveat_diagnostic_all": "Note: a check of the model failed. Read its estimates with caution.",
        "caveat_warning": "Note: the model's fit came with a warning. Read its estimates with caution.",
        "caveat_populations": "The rows are estimated in different populations (the {post24_months}-month effects "
                              "only for those whose {post24_months}-month follow-up has ended), so each row gives "
                              "its own number of observations.",
    },
}

#: Release notes on every page and in the history (`build.ReleaseNotes`).
_RELEASE_TEMPLATES: dict[str, dict[str, str]] = {
    "fi": {
        "release": "Tietoja julkaisusta",
        "release_changes": "Muutokset",
        "release_first": "Tämä on ensimmäinen julkaisu.",
        "release_since": "Muutokset edelliseen julkaisuun ({previous}) verrattuna:",
        "release_new_quarters": "uudet neljännekset {quarters}.",
        "release_frozen": "Aiempien neljännesten luvut ovat samat kuin ne julkaistiin ensimmäisen kerran; niitä ei "
                          "korjata jälkikäteen.",
        "release_corrected": "Tämä julkaisu on korjattu: se julkaistiin ensimmäisen kerran {first} ja korjattiin "
                             "{corrected}.",
        "release_cite": "Viittaa näin",
        "release_citation": "Sijoita ja valmenna! – IPS-arviointitutkimus. Tulokset, tilanne {cutoff} "
                            "(julkaisu {quarter}, julkaistu {published}).",
        "release_contact_label": "Yhteystiedot",
        "release_contact": "Kysymykset ja korjausehdotukset: arviointitutkimuksen tutkimusryhmä.",
        "release_licence_label": "Käyttöoikeus",
        "release_licence": "Luvut ovat vapaasti käytettävissä, kun lähde mainitaan (CC BY 4.0).",
        "history_corrected": "Korjattu",
    },
    "sv": {
        "release": "Om publiceringen",
        "release_changes": "Ändringar",
        "release_first": "Detta är den första publiceringen.",
        "release_since": "Ändringar jämfört med föregående publicering ({previous}):",
        "release_new_quarters": "nya kvartal {quarters}.",
        "release_frozen": "Siffrorna för tidigare kvartal är desamma som när de först publicerades; de korrigeras "
                          "inte i efterhand.",
        "release_corrected": "Denna publicering har korrigerats: den publicerades första gången {first} och "
                             "korrigerades {corrected}.",
        "release_cite": "Hänvisa så här",
        "release_citation": "Sijoita ja valmenna! – utvärderingen av IPS. Resultat, läget {cutoff} "
                            "(publicering {quarter}, publicerad {published}).",
        "release_contact_label": "Kontakt",
        "release_contact": "Frågor och förslag till korrigeringar: utvärderingens forskargrupp.",
        "release_licence_label": "Användningsrätt",
        "release_licence": "Siffrorna får användas fritt med angivande av källan (CC BY 4.0).",
        "history_corrected": "Korrigerad",
    },
    "en": {
        "release": "About this release",
        "release_changes": "Changes",
        "release_first": "This is the first release.",
        "release_since": "Changes since the previous release ({previous}):",
        "release_new_quarters": "new quarters {quarters}.",
        "release_frozen": "The figures of earlier quarters are as first published; they are never revised.",
        "release_corrected": "This release was corrected: first published {first}, corrected {corrected}.",
        "release_cite": "How to cite",
        "release_citation": "Sijoita ja valmenna! – IPS evaluation study. Results as of {cutoff} "
                            "(release {quarter}, published {published}).",
        "release_contact_label": "Contact",
        "release_contact": "Questions and corrections: the evaluation study's research team.",
        "release_licence_label": "Licence",
        "release_licence": "The figures may be used freely with the source named (CC BY 4.0).",
        "history_corrected": "Corrected",
    },
}

#: The texts of the declared sections' pages (ips_eval/publish/site/sections.yaml): chart
#: legends (words only: the site scan reads a chart's whole numbers as counts; the answer
#: codes 1-2, 3 and 4-5 head the table's columns) and axes, key headers and values, the "for whom" table. The sections' own titles,
#: introductions, captions and item labels are in their declaration (`sections.section_texts`).
_VOICES: dict[str, dict[str, str]] = {
    "fi": {
        "likert_low": "eri mieltä tai huonompi", "likert_mid": "ei kumpaakaan",
        "likert_high": "samaa mieltä tai parempi", "likert_x": "Osuus vastanneista",
        "chart_likert_alt": "Vastausten jakauma kolmessa osassa: {caption}. Luvut ovat kaavion alla olevassa taulukossa.",
        "forest_x": "Vaikutus ja 95 %:n luottamusväli",
        "chart_forest_alt": "Vaikutus ryhmittäin luottamusväleineen. Luvut ovat kaavion alla olevassa taulukossa.",
        "col_item": "Kysymys", "col_round": "Kierros", "sub_mean": "keskiarvo",
        "round_alku": "alku", "round_vali": "puoliväli", "round_loppu": "loppu",
        "round_final": "loppukysely", "round_latest": "viimeisin", "round_all": "kaikki",
        "col_subgroup": "Ryhmittely", "col_level": "Ryhmä", "col_p_heterogeneity": "Ryhmien ero, p-arvo",
        "subgroup_age_group": "Ikäryhmä", "subgroup_gender": "Sukupuoli",
        "subgroup_smi": "Vakava mielenterveyden häiriö", "subgroup_fidelity_category": "Menetelmäuskollisuus",
        "characteristic_toimiala": "Toimiala (TOL 2008)", "characteristic_koko": "Henkilöstön määrä",
        "characteristic_sektori": "Sektori", "col_characteristic": "Ominaisuus", "col_code": "Luokka",
        "code_1": "1–9 henkilöä", "code_2": "10–49 henkilöä", "code_3": "50–249 henkilöä",
        "code_4": "250 henkilöä tai enemmän", "code_yksityinen": "yksityinen", "code_julkinen": "julkinen",
        "code_kolmas": "kolmas sektori", "code_unknown": "ei vastausta", "ALL_codes": "yhteensä",
        "section_none": "Tämän osion tietoja ei ole tässä aineistossa.",
    },
    "sv": {
        "likert_low": "inte enig eller sämre", "likert_mid": "varken eller",
        "likert_high": "enig eller bättre", "likert_x": "Andel av de svarande",
        "chart_likert_alt": "Svarens fördelning i tre delar: {caption}. Siffrorna finns i tabellen under diagrammet.",
        "forest_x": "Effekt och 95 % konfidensintervall",
        "chart_forest_alt": "Effekt per grupp med konfidensintervall. Siffrorna finns i tabellen under diagrammet.",
        "col_item": "Fråga", "col_round": "Omgång", "sub_mean": "medelvärde",
        "round_alku": "början", "round_vali": "mitten", "round_loppu": "slutet",
        "round_final": "slutenkät", "round_latest": "senaste", "round_all": "alla",
        "col_subgroup": "Indelning", "col_level": "Grupp", "col_p_heterogeneity": "Skillnad mellan grupper, p-värde",
        "subgroup_age_group": "Åldersgrupp", "subgroup_gender": "Kön",
        "subgroup_smi": "Allvarlig psykisk störning", "subgroup_fidelity_category": "Metodtrohet",
        "characteristic_toimiala": "Bransch (TOL 2008)", "characteristic_koko": "Antal anställda",
        "characteristic_sektori": "Sektor", "col_characteristic": "Egenskap", "col_code": "Klass",
        "code_1": "1–9 personer", "code_2": "10–49 personer", "code_3": "50–249 personer",
        "code_4": "250 personer eller fler", "code_yksityinen": "privat", "code_julkinen": "offentlig",
        "code_kolmas": "tredje sektorn", "code_unknown": "inget svar", "ALL_codes": "totalt",
        "section_none": "Det här avsnittets uppgifter finns inte i detta material.",
    },
    "en": {
        "likert_low": "disagree or worse", "likert_mid": "neither",
        "likert_high": "agree or better", "likert_x": "Share of those who answered",
        "chart_likert_alt": "The answers in three parts: {caption}. The numbers are in the table below the chart.",
        "forest_x": "Effect and 95% confidence interval",
        "chart_forest_alt": "The effect by group with its confidence interval. The numbers are in the table below the chart.",
        "col_item": "Item", "col_round": "Round", "sub_mean": "mean",
        "round_alku": "start", "round_vali": "midway", "round_loppu": "end",
        "round_final": "final survey", "round_latest": "latest", "round_all": "all",
        "col_subgroup": "Breakdown", "col_level": "Group", "col_p_heterogeneity": "Difference between groups, p",
        "subgroup_age_group": "Age group", "subgroup_gender": "Gender",
        "subgroup_smi": "Severe mental illness", "subgroup_fidelity_category": "Fidelity",
        "characteristic_toimiala": "Industry (TOL 2008)", "characteristic_koko": "Personnel",
        "characteristic_sektori": "Sector", "col_characteristic": "Characteristic", "col_code": "Class",
        "code_1": "1–9 people", "code_2": "10–49 people", "code_3": "50–249 people",
        "code_4": "250 people or more", "code_yksityinen": "private", "code_julkinen": "public",
        "code_kolmas": "third sector", "code_unknown": "no answer", "ALL_codes": "total",
        "section_none": "This section's data are not in this delivery.",
    },
}

def _merged(*groups: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The groups' texts in one mapping per language; a key written in two groups is an error
    (the later one would silently win)."""
    out: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for group in groups:
        for lang, more in group.items():
            twice = sorted(set(out[lang]) & set(more))
            if twice:
                raise ValueError(f"texts written twice for {lang}: {', '.join(twice)}")
            out[lang].update(more)
    return out


#: Every written text: the pages', the downloads', the caveats', the release notes' and the sections'.
_TEMPLATES = _merged(_PAGE_TEMPLATES, _DOWNLOAD_TEMPLATES, _CAVEAT_TEMPLATES, _RELEASE_TEMPLATES, _VOICES)


#: Swedish and English names of the counties (wellbeing services counties and Helsinki);
#: Finnish is the data's own name. A county missing here is shown by its Finnish name.
COUNTY_NAMES: dict[str, dict[str, str]] = {
    "sv": {
        "Etelä-Karjala": "Södra Karelen", "Etelä-Pohjanmaa": "Södra Österbotten", "Etelä-Savo": "Södra Savolax",
        "Helsinki": "Helsingfors", "Itä-Uusimaa": "Östra Nyland", "Kainuu": "Kajanaland",
        "Kanta-Häme": "Egentliga Tavastland", "Keski-Pohjanmaa": "Mellersta Österbotten",
        "Keski-Suomi": "Mellersta Finland", "Keski-Uusimaa": "Mellersta Nyland", "Kymenlaakso": "Kymmenedalen",
        "Lappi": "Lappland", "Länsi-Uusimaa": "Västra Nyland", "Pirkanmaa": "Birkaland",
        "Pohjanmaa": "Österbotten", "Pohjois-Karjala": "Norra Karelen", "Pohjois-Pohjanmaa": "Norra Österbotten",
        "Pohjois-Savo": "Norra Savolax", "Päijät-Häme": "Päijänne-Tavastland", "Satakunta": "Satakunta",
        "Vantaa-Kerava": "Vanda-Kervo", "Varsinais-Suomi": "Egentliga Finland",
    },
    "en": {
        "Etelä-Karjala": "South Karelia", "Etelä-Pohjanmaa": "South Ostrobothnia", "Etelä-Savo": "South Savo",
        "Helsinki": "Helsinki", "Itä-Uusimaa": "East Uusimaa", "Kainuu": "Kainuu", "Kanta-Häme": "Kanta-Häme",
        "Keski-Pohjanmaa": "Central Ostrobothnia", "Keski-Suomi": "Central Finland",
        "Keski-Uusimaa": "Central Uusimaa", "Kymenlaakso": "Kymenlaakso", "Lappi": "Lapland",
        "Länsi-Uusimaa": "West Uusimaa", "Pirkanmaa": "Pirkanmaa", "Pohjanmaa": "Ostrobothnia",
        "Pohjois-Karjala": "North Karelia", "Pohjois-Pohjanmaa": "North Ostrobothnia", "Pohjois-Savo": "North Savo",
        "Päijät-Häme": "Päijät-Häme", "Satakunta": "Satakunta", "Vantaa-Kerava": "Vantaa and Kerava",
        "Varsinais-Suomi": "Southwest Finland",
    },
}

_DECIMAL = {"fi": ",", "sv": ",", "en": "."}
_THOUSANDS = {"fi": "\u00a0", "sv": "\u00a0", "en": ","}
_PERCENT = {"fi": "\u00a0%", "sv": "\u00a0%", "en": "%"}


def _period_months(period: str) -> int:
    first, last = definitions.TRANSITION_PERIODS[period]
    return last - first + 1


def definition_values(lang: str, threshold: int | None = None) -> dict[str, Any]:
    """The numbers the texts speak of, from their definitions, formatted for `lang`.

    Examples
    --------
    >>> definition_values("en")["benchmark_average"], definition_values("fi", threshold=7)["T"]
    ('41%', 7)
    """
    return {
        "T": definitions.DISCLOSURE_THRESHOLD if threshold is None else threshold,
        "min_residual_df": MIN_RESIDUAL_DF,
        "long_months": definitions.FOLLOW_UP_MONTHS[-1],
        "post12_months": _period_months("post12"),
        "post24_months": _period_months("post24"),
        **{f"benchmark_{name}": fmt_percent(lang, rate, 0) for name, rate in definitions.IPS_BENCHMARKS.items()},
        **{f"days_{name}": days for name, days in definitions.COACHING_DAYS.items()},
    }


class _Later(dict):
    """Leaves a placeholder that is no definition as it is, for `text`'s caller to fill."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def texts_for(lang: str, threshold: int | None = None) -> dict[str, str]:
    """Every text of `lang`: the written ones with their definitions filled in, and the
    catalogue's labels of the published figures.

    Examples
    --------
    >>> texts_for("en", threshold=7)["disclosure_note"].startswith("Disclosure control: counts of fewer than 7")
    True
    """
    values = _Later(definition_values(lang, threshold))
    written = {**_TEMPLATES[lang], **section_texts(lang)}
    out = {key: string.Formatter().vformat(template, (), values) for key, template in written.items()}
    for f in figures(published=True):
        out[f"h_{f.name}"] = f.label(lang, "title", threshold=threshold)
        out[f"col_{f.count}"] = f.label(lang, "column", threshold=threshold)
        if f.chart:
            out[f"chart_{f.chart}_{f.name}"] = f.label(lang, "chart", threshold=threshold)
    return out



def text(lang: str, key: str, **values) -> str:
    """The text `key` in `lang`; `values` fill its {placeholders}. A missing key is a bug (KeyError)."""
    s = TEXTS[lang][key]
    return s.format(**values) if values else s


def county(lang: str, alue: str) -> str:
    if alue == "ALL":
        return text(lang, "ALL")
    return COUNTY_NAMES.get(lang, {}).get(alue, alue)


def group_value(lang: str, grouping: str, value: str) -> str:
    """A group's label: gender '1' -> 'mies', age '50+' -> '50+ vuotta', ..."""
    if grouping == "age_group":  # a range of years is written with an en dash: 30–39
        return text(lang, "unknown") if value == "unknown" else f"{value.replace('-', '–')} {text(lang, 'age_suffix')}"
    key = f"{grouping}_{value}"
    if key in TEXTS[lang]:
        return text(lang, key)
    return text(lang, "unknown") if value == "unknown" else value


def subgroup_level(lang: str, value: str) -> str:
    """A level of model 9's subgroups: a gender or SMI code, a fidelity category, an age group.

    Examples
    --------
    >>> subgroup_level("en", "good"), subgroup_level("fi", "40-49")
    ('good', '40–49 vuotta')
    """
    for prefix in ("gender", "smi", "cat"):
        if f"{prefix}_{value}" in TEXTS[lang]:
            return text(lang, f"{prefix}_{value}")
    return group_value(lang, "age_group", value)


def term(lang: str, name: str) -> str:
    """A model term's label: 'education[3 vs 1]' -> 'Koulutus: ammatillinen vrt. perusaste'."""
    if "[" in name and name.endswith("]"):
        var, inside = name[:-1].split("[", 1)
        label = TEXTS[lang].get(f"term_{var}", var)
        parts = [_category(lang, var, c.strip()) for c in inside.split(" vs ")]
        versus = " " + text(lang, "vs") + " "
        return f"{label}: {versus.join(parts)}"
    return TEXTS[lang].get(f"term_{name}", name)


def _category(lang: str, var: str, value: str) -> str:
    if var in ("gender", "smi", "wave", "age_group"):
        return group_value(lang, var, value)
    return TEXTS[lang].get(f"{var}_{value}", value)


def _group_digits(whole: str, sep: str) -> str:
    out = []
    while len(whole) > 3:
        out.insert(0, whole[-3:])
        whole = whole[:-3]
    out.insert(0, whole)
    return sep.join(out)


def fmt_number(lang: str, x: float, decimals: int = 0) -> str:
    """A number with the language's decimal mark and thousands separator (4 digits: no separator)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    s = f"{abs(x):.{decimals}f}"
    whole, _, frac = s.partition(".")
    if len(whole) > 4:
        whole = _group_digits(whole, _THOUSANDS[lang])
    sign = "\u2212" if x < 0 and float(s) != 0 else ""
    return sign + whole + (_DECIMAL[lang] + frac if frac else "")


def fmt_percent(lang: str, share: float, decimals: int = 1) -> str:
    return fmt_number(lang, 100 * share, decimals) + _PERCENT[lang]


#: The time zone the site's times are shown in: the readers' own.
LOCAL_TIME = "Europe/Helsinki"


def fmt_time(lang: str, iso: str) -> str:
    """A moment (ISO 8601, UTC when it has no zone) in Finnish local time.

    Examples
    --------
    >>> fmt_time("fi", "2026-12-06T06:21:24Z"), fmt_time("en", "2026-07-01T21:05:00Z")
    ('6.12.2026 klo 8.21', '2 July 2026 at 00:05 (Finnish time)')
    """
    import datetime as dt
    from zoneinfo import ZoneInfo

    try:
        moment = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    local = moment.astimezone(ZoneInfo(LOCAL_TIME))
    day = fmt_date(lang, local.date().isoformat())
    if lang == "en":
        return f"{day} at {local:%H:%M} (Finnish time)"
    return f"{day} {'klo' if lang == 'fi' else 'kl.'} {local.hour}.{local:%M}"


def fmt_date(lang: str, iso: str) -> str:
    """2024-12-31 -> 31.12.2024 (fi, sv) or 31 December 2024 (en)."""
    y, m, d = (int(p) for p in iso[:10].split("-"))
    if lang == "en":
        months = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December")
        return f"{d} {months[m - 1]} {y}"
    return f"{d}.{m}.{y}"


#: Every text, by language then key.
TEXTS: dict[str, dict[str, str]] = {lang: texts_for(lang) for lang in LANGUAGES}

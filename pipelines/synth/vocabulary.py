"""The generator's vocabulary: word lists, video domains and English word forms.

Written for this generator; nothing here comes from the release.
"""

from __future__ import annotations

from dataclasses import dataclass


def _words(text: str) -> tuple[str, ...]:
    """Split a comma-separated list; entries may hold spaces ("cutting board")."""
    return tuple(w.strip() for w in text.split(",") if w.strip())


# Prose words in rough frequency order (the order is the Zipf rank). Hyphens are U+2011 and the
# quotes are curly on purpose: the release's GPT text is full of them.
GENERAL = _words(
    """the, a, and, of, to, in, is, on, with, his, her, their, as, at, while, then, it, from, into,
    an, for, that, this, are, person, hand, hands, camera, which, onto, holding, wearing, using,
    video, scene, over, table, background, showing, one, left, right, two, some, its, before,
    after, standing, man, woman, white, small, frame, room, screen, shot, view, appears, begins,
    continues, shows, holds, uses, moves, places, close‑up, visible, shown, black, large, wooden,
    clear, bright, dark, light, side, top, surface, object, item, area, each, another, other, both,
    near, next, up, down, out, off, around, through, across, behind, under, between, again, also,
    still, just, now, slowly, quickly, carefully, gently, briefly, clearly, blue, red, green, gray,
    silver, metal, plastic, round, flat, long, short, final, first, same, different, various,
    several, empty, full, open, closed, main, simple, detailed, quick, steady, static, natural,
    soft, warm, indoor, outdoor, casual, neutral, looking, talking, speaking, moving, placing,
    pointing, turns, opens, picks, puts, reaches, takes, makes, adds, explains, demonstrates,
    remains, returns, stops, starts, focuses, zooms, pans, displays, features, includes, reveals,
    person’s, it’s, text, overlay, center, segment, moment, process, step, angle, setting, window,
    desk, board, box, container, tool, piece, part, end, corner, edge, front, back, lighting,
    color, image, logo, title, music, voice, audience, viewer, kitchen, counter, shirt, wall,
    floor, sleeve, apron, glove, gloves, finger, fingers, arm, head, face, eyes, smile, gesture,
    motion, movement, action, sequence, detail, details, texture, shape, pattern, position, space,
    level, layer, line, corner, row, stack, pile, set, pair, group, series, number, amount, bit,
    way, time, point, result, finish, look, style, design, model, brand, label, package, product,
    step‑by‑step, well‑lit, hands‑on, built‑in, light‑colored, long‑sleeved, short‑sleeved,
    user’s, man’s, woman’s, doesn’t, “Save”, “Next”, “OK”, “Start”, “Done”, 5 cm, 10 minutes,
    30 seconds, 2 inches, —, there, they, he, she, who, what, where, when, all, more, most, very,
    slightly, fully, partly, firmly, evenly, neatly, closely, directly, finally, meanwhile,
    afterward, together, already, almost, about, toward, along, beside, above, below, inside,
    outside, beneath, against, without, during, until, because, so, but, or, if, than, once,
    remaining, resulting, following, previous, upper, lower, middle, outer, inner, thin, thick,
    narrow, wide, tall, heavy, tiny, huge, old, new, clean, shiny, smooth, rough, soft‑focus,
    blurred, sharp, framed, centered, focused, angled, tilted, handheld, overhead, sideways,
    frontal, rear, distant, close, nearby, adjacent, surrounding, entire, whole, single, multiple,
    additional, extra, specific, particular, certain, typical, common, usual, ordinary, special,
    careful, precise, deliberate, brief, continuous, repeated, rapid, gradual, sudden, smooth,
    relaxed, focused, attentive, calm, cheerful, serious, friendly, professional, home, studio,
    office, garage, workshop, backyard, yard, street, park, store, stage, bathroom, bedroom,
    living room, hallway, doorway, corner, ceiling, shelf, cabinet, drawer, chair, couch, bed,
    lamp, rug, curtain, plant, poster, sign, banner, caption, subtitle, graphic, animation, chart,
    diagram, arrow, circle, note, notes, list, menu, page, sheet, card, paper, book, notebook, pen,
    pencil, phone, tablet, laptop, monitor, keyboard, remote, cable, bag, bottle, cup, mug, glass,
    jar, bowl, plate, tray, towel, cloth, box, case, basket, bucket, lid, cap, handle, button,
    switch, knob, dial, strap, belt, hat, jacket, hoodie, sweater, dress, jeans, shoes, hair,
    beard, glasses, watch, ring, tattoo, reflection, shadow, sunlight, daylight, lamp light,
    spotlight, backdrop, tabletop, countertop, workbench, foreground, midground, horizon, sky,
    clouds, trees, grass, water, road, car, building, door, gate, fence, path, bridge""",
)
# Quantities take a narrow no-break space (U+202F) between number and unit, as GPT writes them.
GENERAL = tuple(w.replace(" ", "\u202f") if w[0].isdigit() else w for w in GENERAL)

# Words for transcript lines: spoken, lowercase, with straight apostrophes like auto captions.
SPEECH = _words(
    """the, and, to, you, a, I, it, is, that, so, this, we, of, in, going, just, like, gonna,
    it's, i'm, on, what, do, can, really, have, your, if, be, get, now, here, right, okay, um,
    uh, all, one, know, little, bit, want, need, let's, go, see, make, put, take, there, they,
    with, up, out, then, thing, things, look, looks, time, guys, today, video, how, about, back,
    first, next, some, good, nice, great, pretty, actually, basically, well, yeah, oh, because,
    when, don't, we're, you're, that's, there's, i'll, i've, we'll, can't, kind, of, sure, make,
    sure, again, down, over, into, for, my, our, me, us, show, try, use, come, start, done,
    finish, keep, give, these, those, other, another, way, same, different, two, three, five,
    ten, minutes, seconds, inches, around, side, top, bottom, end, middle, easy, hard, quick,
    slow, careful, enough, more, less, very, too, much, many, lot, lots, also, still, always,
    never, maybe, probably, definitely, thank, thanks, watching, subscribe, hello, hi, welcome,
    channel, everybody, everyone, folks""",
)

# Verbs any video can use, most common first. Intransitive ones get the complements below.
GENERAL_VERBS = _words(
    """speak, talk, hold, point, show, gesture, walk, look, pick up, place, put, move, turn, open,
    close, adjust, demonstrate, explain, display, hold up, present, remove, take, reach, touch,
    wave, nod, smile, stand, sit, watch, read, write, hand, give, carry, lift, set down, examine,
    inspect, check, use, grab, push, pull, wear, enter, leave, lean, clap, laugh, dance, listen,
    introduce, describe, unbox, compare, record, film, count, sign, drink, eat, hug""",
)
GENERAL_NOUNS = _words(
    """camera, phone, box, bag, paper, card, bottle, cup, book, sign, product, item, object, tool,
    remote, tablet, laptop, package, jar, container, mug, pen, notebook, hand, hands, lid, sheet,
    photo, label, device, microphone, chair, door, sample, piece, cable, glass, bowl, plate,
    towel, map, screen""",
)
GENERAL_ADJECTIVES = _words("small, new, large, white, black")
GENERAL_PERSONS = _words("man, woman, person, user, presenter, host, speaker, individual, narrator")
INTRANSITIVE: dict[str, tuple[str | None, ...]] = {
    "speak": (
        "to camera",
        None,
        "and gesture",
        "to the camera",
        "to the audience",
        "into microphone",
        "while gesturing",
        "to viewers",
        "directly to camera",
        "with hands",
        "and point",
    ),
    "talk": (
        "to camera",
        None,
        "to the camera",
        "and gesture",
        "to the audience",
        "with guest",
        "while walking",
        "into the microphone",
    ),
    "gesture": (None, "while speaking", "with hands", "toward the screen", "to the audience"),
    "walk": (
        None,
        "forward",
        "toward camera",
        "across the room",
        "into the kitchen",
        "away",
        "down the street",
        "along the path",
        "around the table",
        "to the door",
    ),
    "look": ("at camera", "at the camera", "around", "at the screen", "down", "at notes", "up"),
    "wave": ("to camera", "at camera", None, "goodbye", "to the audience"),
    "nod": (None, "and smile", "to camera", "in agreement"),
    "smile": (None, "at camera", "and wave", "to the camera"),
    "stand": (None, "still", "up", "behind the counter", "near the table", "in front of camera"),
    "sit": (None, "down", "on the couch", "at the desk", "on the floor", "at the table"),
    "listen": (None, "to the speaker", "to music", "carefully"),
    "dance": (None, "to music", "in place", "with partner", "on stage"),
    "laugh": (None, "at camera", "together", "and talk"),
    "clap": (None, "hands", "along", "to the beat"),
    "lean": ("forward", "back", "toward camera", "on the counter"),
    "enter": ("the room", "frame", "the kitchen", "the building"),
    "leave": ("the room", "frame", None, "the kitchen"),
    "point": (
        "at the screen",
        "at camera",
        "at the map",
        "to the left",
        "at the product",
        None,
        "toward the board",
        "with pen",
        "at the whiteboard",
        "to the right",
        "at the sky",
    ),
}
FIRST_OBJECT = {"stir": "mixture"}  # the release's most duplicated domain action


@dataclass(frozen=True)
class Domain:
    name: str
    weight: float
    persons: tuple[str, ...]
    verbs: tuple[str, ...]
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]


def _domain(name: str, weight: float, persons: str, verbs: str, nouns: str, adjs: str) -> Domain:
    return Domain(name, weight, _words(persons), _words(verbs), _words(nouns), _words(adjs))


# A video's topic: it biases its actions, actors and prose. "vlog" uses the general lists only.
DOMAINS: tuple[Domain, ...] = (
    _domain(
        "cooking",
        0.17,
        "chef, cook, home cook, woman, man, baker",
        """stir, cut, chop, slice, pour, add, mix, whisk, dice, peel, knead, roll, season,
        sprinkle, fry, boil, bake, flip, taste, serve, plate, garnish, melt, drain, blend, measure,
        crack, beat, spread, toss, scoop, squeeze, rinse, heat, cover, grate, mince, transfer,
        arrange, fold""",
        """mixture, onion, garlic, tomato, cucumber, carrot, potato, pepper, batter, dough, sauce,
        pan, pot, bowl, knife, spoon, spatula, cutting board, oven, butter, flour, sugar, egg,
        eggs, milk, oil, salt, cheese, chicken, beef, rice, pasta, noodles, soup, salad, cake,
        bread, lemon, herbs, spices, water, cream, chocolate, broth, skillet, baking tray,
        vegetables, shrimp, mushrooms, ginger, cilantro, dressing, filling, cookies, pie crust,
        meat, tofu, fish""",
        """chopped, sliced, diced, fresh, hot, melted, boiling, golden, crispy, minced, warm, raw,
        cooked, creamy, thick""",
    ),
    _domain(
        "computer",
        0.09,
        "user, presenter, instructor, narrator",
        """click, type, select, open, drag, scroll, copy, paste, save, launch, install, download,
        search, navigate, zoom, highlight, edit, delete, rename, enter, switch, close, log into,
        configure, export, import, upload, format, resize, crop, insert""",
        """menu, window, folder, file, icon, button, tab, browser, settings, keyboard, mouse,
        screen, desktop, document, spreadsheet, cell, link, toolbar, dialog box, application,
        text box, password, cursor, image, slide, timeline, layer, dropdown menu, search bar,
        website, code, terminal, command, email, checkbox, panel, shortcut, app, video clip,
        font""",
        "new, selected, open, blank, default, hidden, top, left, right, bottom, empty, custom",
    ),
    _domain(
        "diy",
        0.09,
        "worker, technician, man, carpenter, craftsman, handyman, plumber, electrician",
        """drill, screw, unscrew, tighten, loosen, hammer, nail, sand, saw, measure, mark, glue,
        clamp, attach, remove, install, replace, align, paint, weld, solder, wire, connect,
        disconnect, insert, pry, secure, mount, fit, trim, cut, seal, caulk, level""",
        """screw, bolt, nut, wrench, screwdriver, drill, board, plank, wall, pipe, faucet, hinge,
        bracket, panel, cable, wire, battery, circuit board, tape measure, sandpaper, saw, hammer,
        nail, clamp, shelf, door, cabinet, tile, grout, drill bit, frame, beam, valve, switch,
        outlet, fixture, wood, metal sheet, joint, edge""",
        "loose, wooden, metal, rusty, old, new, broken, threaded, flat, rough, smooth, heavy",
    ),
    _domain(
        "beauty",
        0.07,
        "makeup artist, woman, stylist, girl, model, hairdresser",
        """apply, blend, brush, comb, curl, straighten, braid, trim, wash, dry, style, spray, pin,
        tie, section, moisturize, contour, line, dab, pat, smooth, massage, rub, wipe, cleanse,
        file, paint""",
        """foundation, concealer, eyeshadow, mascara, lipstick, eyeliner, brush, sponge, hair,
        strand, curler, comb, mirror, palette, powder, blush, highlighter, serum, cream, nails,
        nail polish, face, eyebrows, lashes, braid, bun, ponytail, lips, cheeks, skin, lotion,
        hairspray, bobby pin, flat iron, hair dryer, primer, toner, cotton pad""",
        "light, dark, pink, nude, thin, thick, wet, dry, smooth, shiny, matte, curly",
    ),
    _domain(
        "fitness",
        0.07,
        "athlete, trainer, coach, man, woman, player, instructor",
        """lift, squat, stretch, lunge, jump, run, kick, throw, catch, swing, dribble, shoot, pass,
        block, punch, row, press, curl, balance, bend, twist, raise, lower, bounce, serve, spin""",
        """barbell, dumbbell, dumbbells, kettlebell, ball, racket, bat, mat, bench, weights, rope,
        net, hoop, goal, bar, legs, arms, knees, punching bag, resistance band, treadmill, bike,
        club, puck, frisbee, skateboard""",
        "heavy, light, left, right, overhead, slow, fast, high, low",
    ),
    _domain(
        "music",
        0.06,
        "guitarist, pianist, musician, singer, drummer, player, man, woman",
        "play, strum, pluck, tune, press, tap, sing, hum, drum, record, adjust, bow, pick, mute",
        """guitar, strings, chord, piano, keys, drum, drumsticks, violin, bow, microphone,
        amplifier, pedal, note, melody, fretboard, ukulele, bass, cymbal, snare, riff, song,
        tuning peg, capo, keyboard, flute, saxophone""",
        "acoustic, electric, open, minor, major, low, high, soft, loud",
    ),
    _domain(
        "crafts",
        0.08,
        "crafter, artist, person, woman, girl, maker",
        """sew, stitch, knit, crochet, thread, fold, cut, glue, paint, draw, sketch, color, shade,
        trace, tape, wrap, tie, weave, iron, pin, measure, mark, stamp, punch, shape, mold, carve,
        decorate""",
        """fabric, needle, thread, yarn, paper, card, scissors, glue, paint, brush, canvas, pencil,
        marker, ribbon, bead, beads, pattern, seam, hook, loop, stitch, sheet, clay, foam, felt,
        button, frame, stencil, outline, sketchbook, watercolor, cardboard""",
        """red, blue, green, yellow, white, black, colored, small, large, folded, thin, bright""",
    ),
    _domain(
        "gardening",
        0.05,
        "gardener, farmer, man, woman, homeowner",
        """dig, plant, water, prune, trim, rake, mow, weed, fertilize, harvest, repot, spray, cut,
        mulch, pull, spread, transplant, fill""",
        """soil, plant, seedling, pot, shovel, hose, lawn, leaves, branch, flowers, seeds, roots,
        tomato plant, hedge, garden bed, compost, trowel, pruning shears, lawn mower, weeds, tree,
        bush, watering can, fence, mulch, vines, grass""",
        "dry, wet, dead, young, green, tall, small, potted",
    ),
    _domain(
        "vehicles",
        0.06,
        "mechanic, driver, rider, technician, man",
        """drive, steer, park, start, check, inspect, remove, install, pump, jack up, tighten,
        wash, polish, replace, change, fill, ride, shift, unscrew, lift""",
        """car, engine, tire, wheel, hood, oil, filter, brake, battery, dashboard, steering wheel,
        bike, chain, pedal, motorcycle, headlight, bumper, spark plug, lug nuts, jack, gear, seat,
        mirror, radiator, hose, brake pad, trunk""",
        "front, rear, flat, new, old, left, right, dirty, clean",
    ),
    _domain(
        "cleaning",
        0.06,
        "cleaner, woman, man, person, homeowner",
        """clean, wipe, scrub, sweep, mop, vacuum, dust, wash, rinse, dry, fold, hang, organize,
        arrange, empty, fill, spray, polish, soak, sort, stack, load, unload""",
        """counter, floor, sink, towel, cloth, sponge, bucket, mop, broom, laundry, shirt, clothes,
        dishes, window, table, bed, sheets, shelf, drawer, basket, stove top, bathtub, toilet,
        mirror, carpet, trash bag, cleaner, detergent, closet, pillow""",
        "dirty, clean, wet, dry, folded, white, stained, greasy",
    ),
    _domain(
        "pets",
        0.04,
        "owner, dog owner, trainer, man, woman, girl, boy",
        """feed, pet, brush, groom, walk, train, hold, bathe, stroke, carry, reward, leash, call,
        play with""",
        """dog, cat, puppy, kitten, leash, collar, treat, treats, food bowl, horse, fish, tank,
        cage, bird, toy, litter box, fur, paw, rabbit, hamster""",
        "small, big, brown, black, white, fluffy, wet, young",
    ),
    _domain(
        "games",
        0.04,
        "child, player, kid, boy, girl, collector, reviewer",
        """play, move, roll, build, stack, open, unbox, show, assemble, arrange, shuffle, deal,
        flip, connect, press, control""",
        """lego, blocks, toy, cards, dice, controller, board game, puzzle, figure, box, car, piece,
        pieces, set, doll, track, robot, game, cube""",
        "small, plastic, colorful, new, toy, tiny, large",
    ),
    _domain(
        "outdoors",
        0.05,
        "hiker, fisherman, camper, man, woman, guide, kayaker",
        """hike, climb, paddle, swim, fish, cast, set up, pitch, light, carry, point, tie, reel,
        row, cross, pack, hang, chop""",
        """trail, rock, tent, fire, backpack, kayak, paddle, fishing rod, line, boat, map, rope,
        water, river, lake, knot, campfire, firewood, hook, bait, lure, stove, compass, hill""",
        "wet, steep, rocky, small, wooden, long, heavy",
    ),
    _domain("vlog", 0.07, "vlogger, host, speaker", "", "", ""),
)

COLORS = _words("red, blue, black, white, gray, green, yellow, dark, light blue, striped, plaid")
GARMENTS = _words("shirt, t‑shirt, jacket, apron, hoodie, sweater, cap, dress, hat, uniform, coat")
FEATURES = _words(
    "long dark hair, short hair, blonde hair, a beard, glasses, curly hair, a ponytail, gray hair"
)
PERSON_ADJS = _words("young, older, bearded, smiling, seated, standing")
PLACES = _words(
    """kitchen, garage, room, studio, backyard, workshop, office, bathroom, table, counter, desk,
    floor, stage, park, street"""
)
PREPOSITIONS = _words("on, with, into, from, onto, next to, in, over, under, using")
NO_ACTION = _words(
    """No action, no action, No action is being performed, no specific action, The person is not
    performing any action, nothing happens, No visible action, None, no clear action, Not doing
    anything"""
)


def third_person(verb: str) -> str:
    head, _, rest = verb.partition(" ")
    if head.endswith(("s", "sh", "ch", "x", "z", "o")):
        head += "es"
    elif head.endswith("y") and head[-2:-1] not in "aeiou":
        head = head[:-1] + "ies"
    else:
        head += "s"
    return f"{head} {rest}".strip()


_DOUBLING = frozenset(
    """cut stir chop put run dig grab swim drop hit set plan shop wrap spin trim slip tap pat rub
    scrub skip snap strum hug jog nod plug drum mop dab sit pin clap flip pet dip knit pop tip zip
    tug scan skim""".split()
)


def gerund(verb: str) -> str:
    head, _, rest = verb.partition(" ")
    if head.endswith("ie"):
        head = head[:-2] + "ying"
    elif head.endswith("e") and not head.endswith(("ee", "ye", "oe")):
        head = head[:-1] + "ing"
    elif head in _DOUBLING:
        head = head + head[-1] + "ing"
    else:
        head += "ing"
    return f"{head} {rest}".strip()


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def with_article(word: str) -> str:
    """The word with its indefinite article."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"

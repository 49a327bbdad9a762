"""The words the English slot rules (:mod:`.slot_rules`) read: which nouns are homes,
jobs, partners, family, pets; which lemmas do a job; what a job title looks like.  Kept
apart so that the rules stay readable and the lists can grow without touching them."""

from __future__ import annotations

PLACE_ENTS = frozenset({"GPE", "LOC", "FAC"})
HOME_NOUNS = frozenset({"flat", "apartment", "house", "place", "home", "condo", "studio", "bungalow", "cottage"})
# the people of one's home: "our landlord here in Dublin", "my neighbours in Antwerp"
HOME_PEOPLE = frozenset({"landlord", "landlady", "neighbour", "neighbor", "flatmate", "housemate", "roommate"})
JOB_NOUNS = frozenset({"job", "position", "role", "post", "career", "gig", "internship"})
# places one works at, said without a name ("a double shift at the bakery", "starting at
# the council's planning office")
WORKPLACES = frozenset({"office", "bakery", "hospital", "clinic", "surgery", "pharmacy", "factory", "warehouse",
                        "shop", "store", "supermarket", "restaurant", "cafe", "café", "bar", "pub", "hotel", "bank",
                        "agency", "firm", "company", "council", "garage", "lab", "laboratory", "newsroom", "studio",
                        "startup", "call centre", "depot", "plant", "mill", "site", "salon", "gym", "library"})
# a stretch of work: "another double shift at the bakery", "my first week at Northgate"
WORK_SPELLS = frozenset({"shift", "shifts", "overtime", "rota", "contract", "placement"})
PARTNER = frozenset({"wife", "husband", "partner", "girlfriend", "boyfriend", "fiancé", "fiancée", "fiance",
                      "fiancee", "spouse"})
FAMILY = frozenset({"mother", "mom", "mum", "father", "dad", "sister", "brother", "son", "daughter", "grandma",
                     "grandmother", "grandpa", "grandfather", "aunt", "uncle", "cousin", "niece", "nephew",
                     "stepson", "stepdaughter", "kid", "child", "baby", "twin"})
PETS = frozenset({"dog", "cat", "puppy", "kitten", "rabbit", "bunny", "hamster", "parrot", "horse", "pony",
                   "tortoise", "turtle", "bird", "budgie", "ferret", "snake", "lizard", "goldfish", "fish",
                   "guinea", "chinchilla", "gerbil", "rat", "mouse", "hedgehog", "beagle", "labrador", "terrier",
                   "poodle", "spaniel", "collie", "retriever", "dachshund", "greyhound", "whippet", "lurcher",
                   "husky", "pug", "corgi", "chihuahua", "schnauzer", "dalmatian", "boxer", "bulldog", "sheepdog",
                   "shepherd", "alsatian", "rottweiler", "doberman", "pomeranian", "shih", "maltese", "cockapoo",
                   "labradoodle", "cavapoo", "setter", "pointer", "vizsla", "weimaraner", "akita", "samoyed",
                   "tabby", "siamese", "persian", "ragdoll", "sphynx", "moggy", "kitty", "pup", "doggo",
                   "cockatiel", "canary", "axolotl", "gecko", "iguana", "tarantula", "alpaca", "goat", "chicken",
                   "hen", "duck", "pig", "lamb", "donkey", "cockatoo", "macaw", "finch", "lovebird", "degu"})
# doing a job's work, said plainly ("I teach maths at a secondary school")
DOING_JOB = {"teach": "teacher", "nurse": "nurse", "lecture": "lecturer", "tutor": "tutor", "bartend": "bartender",
              "freelance": "freelancer", "babysit": "babysitter", "volunteer": "volunteer"}
TAKE_JOB = frozenset({"get", "land", "start", "accept", "take", "begin", "find", "score", "secure", "offer"})
DIETS = frozenset({"vegetarian", "vegan", "pescatarian", "keto", "halal", "kosher", "gluten-free", "plant-based",
                   "meat-free", "veggie", "carnivore", "dairy-free"})
# words of study: a school named among them need not say "university" ("ETH Zurich")
STUDY_NOUNS = frozenset({"phd", "doctorate", "degree", "masters", "master", "mba", "bachelor", "course",
                         "studies", "thesis", "dissertation", "supervisor", "semester", "professor", "lecture"})
# "my first day/week at ...": the start of a job
FIRST_UNITS = frozenset({"day", "week", "month", "shift", "year", "term", "semester"})
# "second year at King's": a year of study; only "first" starts a job
ORDINALS = frozenset({"first", "second", "third", "fourth", "final"})
SCHOOL_WORDS = ("university", "college", "school", "academy", "institute", "polytechnic", "uni")
CAR_BRANDS = frozenset({"tesla", "toyota", "honda", "ford", "bmw", "audi", "volkswagen", "vw", "volvo", "kia",
                         "hyundai", "nissan", "mazda", "subaru", "mercedes", "skoda", "fiat", "peugeot", "renault",
                         "citroen", "jeep", "mini", "porsche", "lexus", "prius", "corolla", "civic", "golf",
                         "polestar", "byd", "rivian", "chevy", "chevrolet", "seat", "opel", "dacia", "suzuki",
                         "vauxhall", "jaguar", "mitsubishi", "alfa", "cupra", "lancia", "saab", "chrysler",
                         "cadillac", "buick", "ferrari", "maserati", "bentley", "infiniti", "acura", "lada", "geely",
                         "octavia", "qashqai", "corsa", "astra", "micra", "clio", "yaris", "fiesta", "camry"})
# Chinese car makes and models ("我的老捷达又要修了")
ZH_CAR_BRANDS = ("特斯拉", "比亚迪", "捷达", "宝马", "奔驰", "奥迪", "大众", "丰田", "本田",
                 "日产", "蔚来", "理想汽车", "小鹏", "吉利", "长城", "哈弗", "五菱", "红旗",
                 "别克", "福特", "马自达", "雷克萨斯", "保时捷", "沃尔沃", "起亚", "凯美瑞", "卡罗拉",
                 "帕萨特", "朗逸", "速腾", "宏光", "荣威", "奇瑞", "长安", "问界", "极氪")
PHONE_WORDS = frozenset({"phone", "smartphone", "iphone", "pixel", "galaxy", "android", "fairphone", "oneplus",
                          "xiaomi", "huawei", "nokia", "motorola"})
NUMERIC = {"rent": ("rent", "landlord", "landlady"),
           "salary": ("salary", "pay", "wage", "earn", "income", "raise", "bump", "promotion", "promote"),
           "weight": ("weigh", "weight", "kg", "kilo", "pound", "lb", "stone")}
TRADE_ENDINGS = ("ist", "ian", "or", "logist", "eur", "smith", "wright", "keeper", "monger")
WORK_QUALIFIERS = frozenset({"freelance", "senior", "junior", "head", "lead", "chief", "trainee", "qualified",
                              "professional", "self-employed", "staff", "sous", "assistant", "deputy", "full-time",
                              "part-time", "principal", "apprentice", "certified", "licensed", "registered"})
# a job title: the word ends like one, or is one of the common ones that do not
JOB_ENDINGS = ("er", "or", "ist", "ian", "ant", "ent", "eur", "ect", "man", "woman", "person")
NOT_JOBS = frozenset({"fan", "lover", "member", "beginner", "mother", "father", "brother", "sister", "daughter",
                       "partner", "owner", "user", "player", "runner", "reader", "fighter", "winner", "loser",
                       "leader", "believer", "supporter", "neighbour", "neighbor", "customer", "other", "number",
                       "monster", "mess", "newcomer", "foreigner", "stranger", "worrier", "dreamer", "gamer",
                       "swimmer", "hiker", "climber", "cyclist", "ambient", "patient", "parent", "resident",
                       "student", "regular", "introvert", "extrovert", "vegetarian", "vegan", "person", "woman",
                       "man", "grandmother", "grandfather", "stepmother", "stepfather", "rider", "singer"})
JOBS = frozenset({"nurse", "chef", "cook", "teacher", "doctor", "dentist", "lawyer", "barista", "pilot", "vet",
                   "midwife", "paramedic", "surgeon", "plumber", "electrician", "carpenter", "architect",
                   "engineer", "developer", "programmer", "accountant", "pharmacist", "journalist", "editor",
                   "librarian", "firefighter", "cop", "police", "officer", "soldier", "farmer", "baker",
                   "butcher", "cashier", "clerk", "waiter", "waitress", "bartender", "hairdresser", "barber",
                   "mechanic", "scientist", "researcher", "professor", "lecturer", "tutor", "consultant",
                   "analyst", "designer", "photographer", "artist", "musician", "writer", "translator",
                   "therapist", "psychologist", "counsellor", "counselor", "social", "receptionist", "manager",
                   "director", "ceo", "cto", "founder", "intern", "freelancer", "contractor", "driver",
                   "courier", "caretaker", "carer", "nanny", "cleaner", "gardener", "physiotherapist",
                   "optician", "radiographer", "technician", "tech", "postman", "postwoman", "judge",
                   "secretary", "assistant", "administrator", "coach", "trainer", "instructor", "actor",
                   "actress", "dancer", "model", "sailor", "fisherman", "miner", "builder", "welder",
                   "painter", "decorator", "surveyor", "estate", "agent", "broker", "banker", "economist",
                   "historian", "chemist", "biologist", "physicist", "mathematician", "statistician",
                   "veterinarian", "paralegal", "solicitor", "barrister", "priest", "vicar", "rabbi", "imam",
                   "principal", "headteacher", "retired", "unemployed", "student"})

"""Word pools for the offline generator's value samplers (pure data, hand-written, no Faker).

Pools are tuples so iteration order is fixed; the samplers in `values.py` combine them, which gives far more distinct
values than the pools themselves (names x surnames, adjectives x nouns, ...).
"""

FIRST_NAMES = (
    "Alice", "Bob", "Carmen", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kofi", "Lena", "Mateo",
    "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sanjay", "Tanya", "Umar", "Valeria", "Wei", "Ximena", "Yusuf",
    "Zoe", "Aaron", "Bianca", "Chen", "Diego", "Emma", "Fatima", "Gabriel", "Hannah", "Ivan", "Julia", "Kenji",
    "Laura", "Marcus", "Nora", "Oliver", "Paula", "Rahul", "Sofia", "Thomas", "Uma", "Victor", "Wanda", "Yara",
    "Zane", "Amara", "Ben", "Chloe", "Dmitri", "Eva", "Felix", "Giulia", "Hassan", "Isla", "Jonas", "Keiko", "Liam",
    "Maya", "Noah", "Olga", "Pedro", "Ravi", "Sara", "Tobias", "Ursula", "Vikram", "Willa", "Xavier", "Yuki",
    "Zara", "Ada", "Bruno", "Clara", "Dante", "Esther", "Finn", "Gemma", "Hugo", "Ingrid", "Jack", "Kira", "Leo",
    "Mia", "Nikhil", "Oscar", "Petra", "Rafael", "Sven", "Tessa", "Uri", "Vera", "Wyatt", "Yvonne", "Ahmed",
    "Beatriz", "Caleb", "Daria", "Eli", "Freya", "George", "Helena", "Idris", "Jasmine", "Karim", "Lucia", "Miguel",
    "Naomi", "Owen", "Pia", "Rohan", "Selin", "Tariq", "Ulla", "Vivian", "Wes", "Aiko", "Boris", "Celine", "Dev",
    "Elif", "Frank", "Greta", "Hamza", "Irene", "Joel", "Kavya", "Lukas", "Mei", "Nils", "Ophelia", "Pablo",
    "Rania", "Samuel", "Thea", "Vincent", "Anika", "Carlos", "Dana", "Emil", "Flora", "Gus", "Harper", "Ismael",
    "Jin", "Kate", "Lars", "Marta", "Nico", "Ola", "Quinn", "Ruth", "Stefan", "Tom", "Ana", "Chris", "Jo", "Sam",
)

LAST_NAMES = (
    "Smith", "Garcia", "Chen", "Müller", "Okafor", "Patel", "Kowalski", "Nguyen", "Rossi", "Haddad", "Silva",
    "Johansson", "Tanaka", "Kim", "Dubois", "Ivanova", "Mensah", "Fernandez", "O'Brien", "Schmidt", "Yilmaz",
    "Novak", "Khan", "Lopez", "Andersen", "Moreau", "Costa", "Park", "Singh", "Walker", "Bauer", "Romano",
    "Hoffman", "Sato", "Wright", "Diaz", "Ali", "Larsen", "Martin", "Becker", "Reyes", "Nakamura", "Brown",
    "Kaur", "Petrov", "Hughes", "Lindqvist", "Adeyemi", "Cohen", "Morales", "Fischer", "Jensen", "Baker",
    "Ortiz", "Suzuki", "Wagner", "Murphy", "Santos", "Weber", "Young", "Horvat", "Kaplan", "Ramos", "Vogel",
    "Abbott", "Castillo", "Dimitrov", "Eriksen", "Flores", "Gallo", "Holm", "Ibrahim", "Jovanovic", "Keller",
)

RELATIONS = ("Mom", "Dad", "my sister", "my brother", "my wife", "my husband", "my boss", "Grandma", "my landlord",
             "my partner", "the babysitter", "my doctor", "my roommate", "my coach", "my neighbor")

CITIES = (
    ("Paris", "France"), ("London", "UK"), ("Tokyo", "Japan"), ("New York", "USA"), ("Berlin", "Germany"),
    ("Madrid", "Spain"), ("Rome", "Italy"), ("Lisbon", "Portugal"), ("Amsterdam", "Netherlands"),
    ("Toronto", "Canada"), ("Sydney", "Australia"), ("Mumbai", "India"), ("Nairobi", "Kenya"), ("Lagos", "Nigeria"),
    ("Cairo", "Egypt"), ("Seoul", "South Korea"), ("Bangkok", "Thailand"), ("Mexico City", "Mexico"),
    ("São Paulo", "Brazil"), ("Buenos Aires", "Argentina"), ("Chicago", "USA"), ("San Francisco", "USA"),
    ("Austin", "USA"), ("Seattle", "USA"), ("Boston", "USA"), ("Denver", "USA"), ("Miami", "USA"),
    ("Vancouver", "Canada"), ("Montreal", "Canada"), ("Dublin", "Ireland"), ("Edinburgh", "UK"),
    ("Manchester", "UK"), ("Munich", "Germany"), ("Hamburg", "Germany"), ("Vienna", "Austria"), ("Zurich", "Switzerland"),
    ("Geneva", "Switzerland"), ("Prague", "Czechia"), ("Warsaw", "Poland"), ("Krakow", "Poland"), ("Budapest", "Hungary"),
    ("Athens", "Greece"), ("Istanbul", "Turkey"), ("Dubai", "UAE"), ("Singapore", "Singapore"),
    ("Hong Kong", "China"), ("Shanghai", "China"), ("Osaka", "Japan"), ("Kyoto", "Japan"), ("Jakarta", "Indonesia"),
    ("Manila", "Philippines"), ("Hanoi", "Vietnam"), ("Auckland", "New Zealand"), ("Cape Town", "South Africa"),
    ("Marrakech", "Morocco"), ("Stockholm", "Sweden"), ("Oslo", "Norway"), ("Copenhagen", "Denmark"),
    ("Helsinki", "Finland"), ("Reykjavik", "Iceland"), ("Barcelona", "Spain"), ("Seville", "Spain"),
    ("Milan", "Italy"), ("Naples", "Italy"), ("Lyon", "France"), ("Nice", "France"), ("Brussels", "Belgium"),
    ("Porto", "Portugal"), ("Bogotá", "Colombia"), ("Lima", "Peru"), ("Santiago", "Chile"), ("Havana", "Cuba"),
    ("Portland", "USA"), ("Nashville", "USA"), ("Atlanta", "USA"), ("Phoenix", "USA"), ("Los Angeles", "USA"),
    ("Bengaluru", "India"), ("Delhi", "India"), ("Karachi", "Pakistan"), ("Dhaka", "Bangladesh"), ("Tel Aviv", "Israel"),
    ("Accra", "Ghana"), ("Addis Ababa", "Ethiopia"), ("Tunis", "Tunisia"), ("Riga", "Latvia"), ("Tallinn", "Estonia"),
)

STREET_NAMES = ("Main", "Oak", "Maple", "Elm", "Cedar", "Pine", "Lake", "Hill", "Park", "Washington", "King",
                "Queen", "Station", "Church", "Mill", "River", "Sunset", "Highland", "Harbor", "Willow", "Bridge",
                "Market", "Spring", "Union", "Victoria", "Garden", "Forest", "Meadow", "Chestnut", "Liberty")
STREET_TYPES = ("Street", "St", "Avenue", "Ave", "Road", "Rd", "Lane", "Boulevard", "Drive", "Way", "Place", "Court")

PLACES = (
    "the airport", "the train station", "the office", "home", "the gym", "the nearest pharmacy", "the library",
    "Central Park", "the Eiffel Tower", "the Louvre", "Union Station", "the city hospital", "the mall", "the beach",
    "the stadium", "the university campus", "the bus terminal", "Golden Gate Park", "the convention center",
    "the zoo", "the harbor", "the old town", "the farmers market", "the ski resort", "the museum of modern art",
    "my parents' house", "the dentist", "the post office", "the nearest gas station", "the botanical garden",
)

PLACE_TYPES = ("coffee shop", "gas station", "pharmacy", "ATM", "sushi restaurant", "parking garage", "gym",
               "grocery store", "bakery", "hardware store", "vegan restaurant", "hotel", "bookstore", "EV charger",
               "hospital", "playground", "bike shop", "laundromat", "pizza place", "bar", "vet clinic", "car wash")

COMPANY_A = ("Blue", "North", "Bright", "Silver", "Red", "Green", "Quantum", "Pioneer", "Summit", "Atlas", "Nova",
             "Apex", "Golden", "Iron", "Crystal", "Vertex", "Harbor", "Cedar", "Orbit", "Lumen", "Swift", "Echo")
COMPANY_B = ("Labs", "Systems", "Foods", "Logistics", "Media", "Dynamics", "Health", "Partners", "Works",
             "Analytics", "Energy", "Studios", "Robotics", "Capital", "Networks", "Bakery", "Motors", "Designs")
COMPANY_SUFFIX = ("", "", "", " Inc", " Ltd", " GmbH", " Co", " LLC")

STORES = ("Amazon", "Target", "Walmart", "IKEA", "Best Buy", "Costco", "Whole Foods", "Trader Joe's", "Zara",
          "Etsy", "eBay", "Home Depot", "Sephora", "Decathlon", "Uniqlo", "Lidl", "Aldi", "Tesco", "Nike")

PRODUCTS_ADJ = ("wireless", "stainless steel", "organic", "waterproof", "portable", "ergonomic", "bamboo", "leather",
                "noise-cancelling", "vintage", "compact", "rechargeable", "cotton", "glass", "foldable", "smart")
PRODUCTS_NOUN = ("earbuds", "water bottle", "desk lamp", "backpack", "yoga mat", "coffee grinder", "phone case",
                 "office chair", "running shoes", "keyboard", "blender", "umbrella", "air fryer", "monitor stand",
                 "rain jacket", "camping tent", "toothbrush", "bookshelf", "frying pan", "sunglasses", "watch",
                 "power bank", "notebook", "speaker", "hoodie", "mattress topper", "vacuum cleaner", "kettle")

GROCERIES = ("milk", "eggs", "bread", "butter", "apples", "bananas", "spinach", "rice", "pasta", "olive oil",
             "chicken breast", "tofu", "coffee beans", "yogurt", "cheddar", "tomatoes", "onions", "garlic",
             "avocados", "oat milk", "cereal", "orange juice", "peanut butter", "flour", "sugar", "salmon",
             "lentils", "carrots", "potatoes", "lemons", "honey", "paper towels", "dish soap", "toilet paper")

DISHES = ("margherita pizza", "pad thai", "chicken tikka masala", "sushi platter", "cheeseburger", "caesar salad",
          "ramen", "falafel wrap", "beef tacos", "pho", "lasagna", "poke bowl", "fish and chips", "burrito bowl",
          "veggie curry", "dim sum", "shawarma", "mushroom risotto", "bibimbap", "butter chicken", "club sandwich")
CUISINES = ("Italian", "Thai", "Mexican", "Japanese", "Indian", "Chinese", "Greek", "Lebanese", "Vietnamese",
            "Korean", "French", "Ethiopian", "Spanish", "Turkish", "vegan", "seafood", "barbecue", "Peruvian")
RESTAURANT_A = ("The Golden", "Little", "Blue", "Casa", "Chez", "The Rusty", "Green", "Old", "Mama's", "Lucky")
RESTAURANT_B = ("Spoon", "Lotus", "Olive", "Dragon", "Fork", "Table", "Garden", "Kitchen", "Bistro", "Noodle",
                "Taqueria", "Trattoria", "Grill", "Diner", "Curry House")

SONG_A = ("Golden", "Midnight", "Electric", "Broken", "Summer", "Silent", "Wild", "Blue", "Neon", "Paper",
          "Velvet", "Distant", "Falling", "Burning", "Lonely", "Crimson", "Northern", "Sweet", "Hollow", "Crystal")
SONG_B = ("Rivers", "Skies", "Hearts", "Dreams", "Roads", "Lights", "Echoes", "Shadows", "Waves", "Fire", "Rain",
          "Stars", "Gardens", "Horizons", "Letters", "Mountains", "Cities", "Tides", "Wings", "Bones")
ARTISTS = ("Taylor Swift", "The Beatles", "Beyoncé", "Daft Punk", "Adele", "Kendrick Lamar", "Radiohead",
           "Billie Eilish", "Bad Bunny", "Miles Davis", "Fleetwood Mac", "Coldplay", "Rosalía", "BTS", "Nina Simone",
           "Arctic Monkeys", "Dua Lipa", "Bob Marley", "Norah Jones", "Tame Impala", "Fela Kuti", "Stromae",
           "The Weeknd", "Queen", "Ed Sheeran", "Ariana Grande", "Johnny Cash", "Björk", "SZA", "Metallica")
GENRES = ("jazz", "lo-fi", "classical", "hip hop", "rock", "pop", "country", "reggae", "techno", "blues",
          "ambient", "k-pop", "folk", "metal", "bossa nova", "disco", "soul", "indie", "R&B", "salsa")
PLAYLIST_A = ("Morning", "Workout", "Chill", "Focus", "Road Trip", "Sunday", "Party", "Sleep", "Dinner", "Study")
PLAYLIST_B = ("Mix", "Vibes", "Essentials", "Favorites", "Jams", "Classics", "Playlist", "Hits", "Beats")

MOVIES = ("Inception", "The Matrix", "Spirited Away", "Parasite", "Casablanca", "Interstellar", "Amélie",
          "The Godfather", "Arrival", "Coco", "Dune", "Whiplash", "Up", "Heat", "Jaws", "Alien", "Roma", "Her",
          "Moonlight", "Gravity", "Get Out", "Oppenheimer", "Barbie", "Paddington 2", "Mad Max: Fury Road")
SHOWS = ("Breaking Bad", "The Office", "Succession", "Dark", "The Crown", "Stranger Things", "Fleabag",
         "The Bear", "Severance", "Friends", "Narcos", "Sherlock", "Ted Lasso", "Shōgun", "The Wire", "Bluey")
PODCASTS = ("The Daily", "Radiolab", "Hardcore History", "Serial", "Planet Money", "Freakonomics Radio",
            "99% Invisible", "Lex Fridman Podcast", "Hidden Brain", "Stuff You Should Know", "Reply All")
BOOKS = ("Dune", "Pride and Prejudice", "1984", "The Hobbit", "Sapiens", "Atomic Habits", "Beloved",
         "The Name of the Wind", "Educated", "Project Hail Mary", "Circe", "The Midnight Library", "Middlemarch")

DEVICES = ("living room lights", "kitchen lights", "bedroom lamp", "porch light", "thermostat", "garage door",
           "front door lock", "bathroom fan", "hallway lights", "office lamp", "ceiling fan", "air purifier",
           "robot vacuum", "dishwasher", "coffee maker", "TV", "sprinklers", "desk lamp", "back door lock",
           "patio lights", "kids' room nightlight", "basement heater", "washing machine", "dehumidifier")
ROOMS = ("living room", "kitchen", "bedroom", "bathroom", "office", "garage", "basement", "hallway", "nursery",
         "dining room", "guest room", "patio", "attic", "laundry room", "master bedroom")
SCENES = ("movie night", "good morning", "bedtime", "dinner party", "reading", "away", "focus", "relax", "romantic")
COLORS = ("red", "blue", "warm white", "cool white", "green", "purple", "orange", "pink", "yellow", "teal")

APPS = ("Spotify", "WhatsApp", "Slack", "Gmail", "Instagram", "Maps", "Calculator", "Camera", "Photos",
        "YouTube", "Netflix", "Uber", "Notes", "Calendar", "Settings", "Chrome", "Zoom", "Teams", "Duolingo", "Kindle")

LANGUAGES = (("English", "en"), ("Spanish", "es"), ("French", "fr"), ("German", "de"), ("Italian", "it"),
             ("Portuguese", "pt"), ("Japanese", "ja"), ("Chinese", "zh"), ("Korean", "ko"), ("Arabic", "ar"),
             ("Russian", "ru"), ("Hindi", "hi"), ("Turkish", "tr"), ("Dutch", "nl"), ("Swedish", "sv"),
             ("Polish", "pl"), ("Greek", "el"), ("Vietnamese", "vi"), ("Thai", "th"), ("Swahili", "sw"))

CURRENCIES = (("US dollars", "USD"), ("dollars", "USD"), ("euros", "EUR"), ("British pounds", "GBP"),
              ("pounds", "GBP"), ("yen", "JPY"), ("Swiss francs", "CHF"), ("Canadian dollars", "CAD"),
              ("Australian dollars", "AUD"), ("rupees", "INR"), ("pesos", "MXN"), ("won", "KRW"),
              ("yuan", "CNY"), ("Brazilian reais", "BRL"), ("Swedish kronor", "SEK"), ("rand", "ZAR"))

TICKERS = ("AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA", "META", "NFLX", "SPY", "BRK.B", "JPM", "V", "DIS",
           "KO", "SAP", "ASML", "TSM", "BABA", "SHOP", "UBER")
CRYPTO = (("Bitcoin", "BTC"), ("Ethereum", "ETH"), ("Solana", "SOL"), ("Cardano", "ADA"), ("Dogecoin", "DOGE"))

SPORTS_TEAMS = ("Real Madrid", "FC Barcelona", "Manchester United", "Liverpool", "Bayern Munich", "Arsenal",
                "Juventus", "PSG", "Lakers", "Celtics", "Warriors", "Chicago Bulls", "Yankees", "Dodgers",
                "Red Sox", "Patriots", "Chiefs", "Packers", "Toronto Maple Leafs", "All Blacks", "Ajax", "Inter Milan",
                "Boca Juniors", "Chelsea", "Tottenham", "Dallas Cowboys", "Golden State Warriors", "Miami Heat")
LEAGUES = ("Premier League", "La Liga", "NBA", "NFL", "MLB", "Serie A", "Bundesliga", "Champions League", "NHL",
           "Ligue 1", "MLS", "Formula 1", "Six Nations", "IPL")
SPORTS = ("soccer", "basketball", "tennis", "baseball", "cricket", "hockey", "golf", "rugby", "volleyball",
          "Formula 1", "cycling", "boxing")

NEWS_TOPICS = ("climate change", "the elections", "artificial intelligence", "the stock market", "space exploration",
               "the housing market", "electric cars", "the World Cup", "renewable energy", "inflation",
               "cybersecurity", "public health", "the Olympics", "interest rates", "wildfires", "quantum computing")
NEWS_SOURCES = ("BBC", "Reuters", "The Guardian", "CNN", "Al Jazeera", "NPR", "The New York Times", "Le Monde",
                "Bloomberg", "AP News", "Der Spiegel", "El País")

SEARCH_QUERIES = (
    "how to fix a leaky faucet", "best hiking trails near Denver", "symptoms of vitamin D deficiency",
    "cheap flights to Lisbon in May", "how long to boil an egg", "who won the 2018 World Cup",
    "python list comprehension examples", "easy vegetarian lasagna recipe", "what is a Roth IRA",
    "how to remove red wine stains", "population of Canada", "tallest building in the world",
    "when does daylight saving time end", "how to train a puppy to sit", "meaning of serendipity",
    "best budget mechanical keyboards", "how to say thank you in Japanese", "distance from Earth to Mars",
    "how to change a bike tire", "opening hours of the Louvre", "how many calories in an avocado",
    "history of the Roman Empire", "how to write a cover letter", "difference between weather and climate",
    "ideas for a 10 year old's birthday party", "how to unclog a drain without chemicals",
)

MESSAGES = (
    "I'm running 10 minutes late", "can you pick up milk on the way home", "happy birthday!", "call me when you can",
    "the meeting moved to 3pm", "see you at the restaurant", "don't forget your keys", "I landed safely",
    "dinner is ready", "thanks for yesterday", "are we still on for tonight?", "good luck with the interview",
    "the package arrived", "let's reschedule to next week", "I'll be home around 7", "running late, start without me",
    "can you send me the slides", "I left the report on your desk", "the kids are asleep", "parking is full, circling",
    "just finished the workout", "on my way", "congrats on the new job!", "please review the contract by Friday",
    "the wifi password is on the fridge", "miss you", "meeting notes are in the shared folder", "grab some coffee?",
    "I'll call you after lunch", "traffic is terrible, be there in 20", "did you feed the cat?", "the build is green",
)
NAME_SYLLABLES = ("ka", "lo", "mi", "ra", "ta", "ne", "so", "vi", "da", "ri", "an", "el", "jo", "ma", "li", "be",
                  "to", "ya", "zu", "ni", "or", "sa", "fe", "gu", "ha", "ke", "lu", "mo", "na", "pe", "ro", "si")
# parts of composed text messages (values.message)
MSG_SUBJECTS = ("I'm", "we're", "I am", "the bus is", "my train is", "the kids are", "I'll be", "we are", "I'm still",
                "the plumber is", "your package is", "dinner's")
MSG_STATES = ("stuck in traffic", "almost there", "at the station", "outside your building", "on the way",
              "home early today", "a bit behind schedule", "still at the office", "going to miss the start",
              "waiting at the entrance", "ready when you are", "done with the shopping", "feeling much better",
              "in the parking lot", "heading back now", "out of battery soon")
MSG_ASKS = ("can you", "could you", "please", "don't forget to", "remember to", "would you mind if we", "let's")
MSG_ACTIONS = ("grab some bread", "call the plumber", "feed the dog", "water the plants", "bring the charger",
               "lock the back door", "save me a seat", "pick up the dry cleaning", "check the oven", "book a table",
               "send me the address", "move the car", "leave the key under the mat", "start the meeting without me",
               "push lunch to 1:30", "meet at the north gate")
MSG_PLANS = ("see you", "meet me at the cafe", "call you", "back home", "pick you up", "lunch is", "the game starts",
             "practice moved to", "I'll drop by", "let's talk")
MSG_TIMES = ("at 6", "tonight", "after work", "in ten minutes", "tomorrow morning", "around noon", "on Saturday",
             "before the meeting", "at half past five", "later today")
EMAIL_SUBJECTS = (
    "Quarterly report", "Meeting follow-up", "Invoice for March", "Project kickoff", "Vacation request",
    "Weekly update", "Contract draft", "Lunch on Friday?", "Job application", "Travel itinerary",
    "Budget review", "Welcome aboard", "Feedback on the proposal", "Rent payment", "Team offsite plans",
    "Password reset", "Order confirmation", "Conference registration", "Design review notes", "Happy holidays",
)
NOTE_TEXTS = (
    "buy a birthday gift for Sam", "the garage code is 4821", "ideas for the blog: remote work, productivity",
    "call the plumber about the sink", "book club picks: Circe, Beloved", "renew passport before June",
    "wifi password is sunflower42", "pay the electricity bill", "try the new ramen place downtown",
    "take the car in for an oil change", "water the plants on Sunday", "return the library books",
    "schedule a dentist appointment", "pick up dry cleaning", "send the tax documents to the accountant",
    "cancel the gym membership", "email the landlord about the heater", "buy batteries for the smoke detector",
    "check flight prices for Thanksgiving", "back up the laptop", "order new contact lenses", "call grandma",
)
EVENT_TITLES = (
    "team standup", "dentist appointment", "lunch with Maria", "project review", "yoga class", "parent-teacher meeting",
    "quarterly planning", "coffee with a recruiter", "doctor's appointment", "board meeting", "date night",
    "1:1 with manager", "book club", "haircut", "car service", "sprint retro", "client call", "piano lesson",
    "birthday dinner", "design workshop", "flight to Berlin", "soccer practice", "team offsite", "vet visit",
)
TASKS = (
    "finish the slide deck", "renew car insurance", "clean the garage", "file expense report", "update the resume",
    "fix the login bug", "call the bank", "prepare tax return", "mow the lawn", "write the blog post",
    "order printer ink", "review pull request", "plan the birthday party", "book flights for the conference",
    "submit the timesheet", "organize the closet", "send thank-you cards", "backup photos", "update the budget",
)
LABELS = ("pasta", "laundry", "eggs", "tea", "pizza", "workout", "nap", "meditation", "pomodoro", "bread",
          "cookies", "parking meter", "rice", "homework break", "plank", "face mask", "roast", "stretching")
ALARM_LABELS = ("wake up", "gym", "meds", "school run", "work", "flight", "meeting prep", "take the trash out")
FILE_BASES = ("report", "budget", "invoice", "presentation", "resume", "notes", "contract", "photo", "backup",
              "meeting_minutes", "thesis", "roadmap", "receipt", "itinerary", "draft", "data_export", "slides")
FILE_EXTS = ("pdf", "docx", "xlsx", "pptx", "png", "jpg", "csv", "txt", "zip", "mp4", "md", "json")
FOLDERS = ("Documents", "Downloads", "Desktop", "Photos", "Work", "Projects", "Archive", "Taxes 2025", "Shared",
           "Invoices", "Music", "Backups", "School", "Recipes", "Travel")
HASHTAGS = ("travel", "foodie", "throwbackthursday", "fitness", "sunset", "mondaymotivation", "photography",
            "catsofinstagram", "techtalk", "weekendvibes", "bookstagram", "coffee", "nature", "art")
AIRPORTS = (("JFK", "New York"), ("LHR", "London"), ("CDG", "Paris"), ("HND", "Tokyo"), ("LAX", "Los Angeles"),
            ("SFO", "San Francisco"), ("FRA", "Frankfurt"), ("AMS", "Amsterdam"), ("MAD", "Madrid"), ("DXB", "Dubai"),
            ("SIN", "Singapore"), ("ORD", "Chicago"), ("BCN", "Barcelona"), ("FCO", "Rome"), ("YYZ", "Toronto"),
            ("SYD", "Sydney"), ("ICN", "Seoul"), ("LIS", "Lisbon"), ("BER", "Berlin"), ("MEX", "Mexico City"))
AIRLINES = ("Lufthansa", "Delta", "United", "Air France", "KLM", "Emirates", "Ryanair", "easyJet", "Qantas",
            "JetBlue", "Iberia", "ANA", "Turkish Airlines", "Southwest")
HOTELS_A = ("Grand", "Royal", "Harbor", "Park", "City", "Riverside", "Plaza", "Sunset", "Alpine", "Garden")
HOTELS_B = ("Hotel", "Inn", "Suites", "Lodge", "Resort", "Hostel")
WORDS_TO_TRANSLATE = (
    "where is the bathroom", "thank you very much", "good morning", "how much does this cost", "I'm allergic to nuts",
    "the check, please", "nice to meet you", "I don't understand", "can you help me", "see you tomorrow",
    "one coffee please", "where is the train station", "I love you", "happy new year", "excuse me", "good night",
)
DICT_WORDS = ("serendipity", "ephemeral", "ubiquitous", "quixotic", "laconic", "petrichor", "sonder", "mellifluous",
              "obfuscate", "resilience", "pragmatic", "ambivalent", "halcyon", "eloquent", "juxtapose", "zeitgeist")
WIKI_TOPICS = ("Marie Curie", "the Great Wall of China", "photosynthesis", "the Roman Empire", "black holes",
               "Frida Kahlo", "the French Revolution", "Ada Lovelace", "plate tectonics", "the Silk Road",
               "jazz music", "the Amazon rainforest", "Nelson Mandela", "the printing press", "honeybees")
EXERCISES = ("running", "cycling", "swimming", "yoga", "weightlifting", "walking", "hiking", "rowing", "pilates",
             "HIIT", "boxing", "dancing", "elliptical", "climbing")
MEDICATIONS = ("ibuprofen", "vitamin D", "allergy pills", "antibiotics", "iron supplement", "insulin", "melatonin",
               "blood pressure pills", "omega-3", "antihistamine")
SYMPTOMS = ("headache", "sore throat", "back pain", "fever", "nausea", "cough", "dizziness", "rash", "insomnia")
CAR_MODELS = ("Model 3", "Civic", "Corolla", "Golf", "Mustang", "Prius", "Leaf", "Outback", "F-150", "Ioniq 5")
TEAMS_WORK = ("design", "marketing", "backend", "sales", "support", "data", "finance", "legal", "mobile", "ops")
CHANNELS = ("general", "random", "engineering", "announcements", "design-review", "support", "marketing",
            "incidents", "watercooler", "releases", "hiring", "standup")
EVENT_NAMES = ("Coldplay concert", "Hamilton", "Lakers game", "the jazz festival", "Swan Lake", "a comedy show",
               "the Champions League final", "Taylor Swift's concert", "the film festival", "the food fair",
               "the marathon", "the tech conference", "Cirque du Soleil", "the opera")
SOCIAL_POSTS = ("just ran my first half marathon!", "new blog post is up, link in bio", "sunset at the beach tonight",
                "we're hiring backend engineers", "happy friday everyone", "best tacos in town, no contest",
                "finally finished the puzzle", "coffee first, then the world", "excited to announce our new product",
                "thank you all for the birthday wishes")
RECIPES = ("banana bread", "chicken soup", "guacamole", "chocolate chip cookies", "vegetable stir fry",
           "shakshuka", "pancakes", "lentil soup", "carbonara", "apple pie", "hummus", "pesto pasta", "chili")
INGREDIENTS = ("chicken", "tofu", "chickpeas", "spinach", "mushrooms", "eggplant", "salmon", "rice", "quinoa",
               "sweet potato", "broccoli", "ground beef", "feta", "zucchini", "coconut milk", "shrimp")
COURSES = ("Intro to Python", "Spanish for Beginners", "Linear Algebra", "Photography Basics", "Data Science 101",
           "Creative Writing", "Organic Chemistry", "Public Speaking", "Music Theory", "World History")
JOB_TITLES = ("software engineer", "product designer", "data analyst", "nurse", "project manager", "accountant",
              "marketing manager", "teacher", "electrician", "sales associate", "barista", "UX researcher")
UNITS_LENGTH = ("miles", "kilometers", "meters", "feet", "inches", "centimeters", "yards")
UNITS_MASS = ("pounds", "kilograms", "grams", "ounces", "stones")
UNITS_VOLUME = ("liters", "gallons", "cups", "milliliters", "tablespoons", "fluid ounces")
UNITS_TEMP = ("Celsius", "Fahrenheit", "Kelvin")
WIFI_NAMES = ("HomeNetwork", "Office-5G", "CoffeeShop_Guest", "Airport Free WiFi", "Hotel_Lobby", "NETGEAR42",
              "Linksys_Home", "TP-Link_8832", "Library Public", "eduroam")
BT_DEVICES = ("AirPods", "car stereo", "Bose headphones", "JBL speaker", "Galaxy Buds", "smartwatch",
              "Sony headphones", "keyboard", "game controller")
ANIMALS = ("dog", "cat", "rabbit", "parrot", "hamster", "goldfish", "turtle")
PET_NAMES = ("Max", "Luna", "Bella", "Charlie", "Milo", "Coco", "Rocky", "Daisy", "Simba", "Nala", "Biscuit")
NOTE_TITLES = ("Groceries", "Trip ideas", "Meeting notes", "Gift list", "Books to read", "Packing list", "Recipes",
               "Project ideas", "Passwords hint", "Workout plan", "Garden plan", "Movie list", "Wedding checklist",
               "Q3 goals", "Interview prep", "Home repairs", "Daily journal", "Podcast notes")
GROUP_CHATS = ("Family", "Book Club", "Soccer Team", "Roommates", "Work Friends", "College Crew", "Hiking Group",
               "Project Falcon", "Neighbors", "Cousins", "Design Team", "Weekend Plans")
PROJECT_NAMES = ("Website Redesign", "Kitchen Remodel", "Q4 Launch", "Thesis", "Wedding", "Moving House",
                 "Marketing Campaign", "Mobile App", "Garden", "Onboarding", "Fundraiser", "Novel Draft")
ALBUMS = ("Vacation 2025", "Family", "Screenshots", "Favorites", "Pets", "Recipes", "Wedding", "Road Trip", "Receipts")
PLAYERS = ("Lionel Messi", "Serena Williams", "LeBron James", "Shohei Ohtani", "Megan Rapinoe", "Virat Kohli",
           "Erling Haaland", "Naomi Osaka", "Lewis Hamilton", "Stephen Curry", "Kylian Mbappé", "Novak Djokovic",
           "Aitana Bonmatí", "Patrick Mahomes", "Caitlin Clark", "Connor McDavid", "Iga Świątek", "Max Verstappen")
QUESTIONS = ("why is the sky blue", "how do vaccines work", "what causes inflation", "who invented the telephone",
             "how far away is the moon", "why do cats purr", "what is the capital of Australia",
             "how many bones are in the human body", "when was the Eiffel Tower built", "how do airplanes fly",
             "what's the difference between a virus and bacteria", "how are rainbows formed")

"""Every default of the crawler in one place (Scrapy settings + our S2S_* settings).

Scrapy reads this module for ``scrapy crawl`` (scrapy.cfg) and ``s2s-crawl run`` starts
from it, then sets what its flags and environment say. Our own settings are checked
when a crawl starts (:func:`crawler.checks.check_settings`): an unknown ``S2S_*`` name is
an error, not a silently ignored typo.
"""

from dataset.images.safe import DEFAULT_MAX_PIXELS

BOT_NAME = "street2shop"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
LOG_LEVEL = "INFO"

# Identity and rules of the road -----------------------------------------------------
# Who we are and how to reach us; `--user-agent` replaces it (it must keep a contact).
USER_AGENT = "street2shop-crawler/0.1.0 (+mailto:data-team@example.com)"
ROBOTSTXT_OBEY = True  # Allow/Disallow; the budget middleware adds Crawl-delay
ROBOTSTXT_PARSER = "crawler.middlewares.robots.RecordingRobotParser"  # keeps rules for provenance
COOKIES_ENABLED = False  # listings are public; no session to keep
TELNETCONSOLE_ENABLED = False  # no open port in a pod
REMOTE_CONTROL_ENABLED = False  # the same: Scrapy 2.19 serves a control API on localhost by default
S2S_OPTOUT_TAGS = ["noai", "noimageai"]  # X-Robots-Tag directives that skip a page/photo

# Request budget (crawler/middlewares/budget.py) --------------------------------------
S2S_BUDGET_ENABLED = True
S2S_RATE = None  # req/s per site host, all pods together; None: S2S_RATE env, else profile
S2S_PARALLELISM = None  # pods sharing S2S_RATE; None: S2S_PARALLELISM env, else 1
S2S_BUDGET_MARGIN = 0.075  # seconds of slack per 1-second window for scheduling and wire jitter: 0.05 let requests through on a loaded 2-core machine; 0.1 caps the budget used at 91%
S2S_BACKOFF_FACTOR = 2.0  # spacing x2 per 429 ...
S2S_BACKOFF_MAX = 16.0  # ... up to x16
S2S_BACKOFF_RECOVERY = 20  # answers without 429 in a row before the spacing halves again
S2S_RETRY_AFTER_DEFAULT = 2.0  # seconds to pause on a 429 without Retry-After (x2 per try)
S2S_RETRY_AFTER_MAX = 600.0  # never pause a host longer than this on one answer
S2S_POLITE_RETRIES = 5  # 429/503+Retry-After retries of one request before giving up
# The budget paces; these only bound how many requests wait in memory.
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 32
DOWNLOAD_DELAY = 0  # pacing is the budget middleware's job
AUTOTHROTTLE_ENABLED = False  # it would fight the budget
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2  # initial response + 2 retries = 3 requests
# 429 and 503-with-Retry-After are the budget middleware's (it waits as told).
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]

DOWNLOADER_MIDDLEWARES = {
    # robots.txt once per host for all the crawls of a process, not once per category
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.robots.SharedRobotsTxtMiddleware": 100,
    "crawler.middlewares.optout.OptOutMiddleware": 800,  # after DownloaderStats counted it
    "crawler.middlewares.budget.BudgetMiddleware": 990,  # its pacing is the wire's
    "crawler.middlewares.storeguard.StoreGuardMiddleware": 995,  # no request once the store failed
}

# Output -------------------------------------------------------------------------------
S2S_STORE = "./data"  # local folder or s3://bucket/prefix (endpoint: AWS_ENDPOINT_URL)
S2S_PHOTOS_PER_ITEM = 1  # photos fetched per listing (0: all); image_urls lists them all
# Memory bound of a crawl pod (1Gi): one decoded 40 MP photo is 120 MB of RGB.
S2S_PHOTO_MAX_PIXELS = DEFAULT_MAX_PIXELS  # the dataset build's limit; larger: too_large
S2S_PHOTO_MAX_BYTES = 20 * 1024 * 1024  # larger downloads are cut and settled as too_large
S2S_PROGRESS = False  # tqdm bar of stored items (s2s-crawl run turns it on for a terminal)
ITEM_PIPELINES = {"crawler.pipelines.photos.PhotosPipeline": 300}
IMAGES_STORE = None  # None: the store root (photo keys are raw/<site>/images/full/...)
IMAGES_EXPIRES = 3650  # a stored photo is never fetched again (listing photos do not change)
FEED_STORAGES = {"store": "crawler.feeds.StoreFeedStorage"}
FEED_EXPORT_BATCH_ITEM_COUNT = 50  # records per batch: at most this many lost to SIGKILL
FEED_STORE_EMPTY = False
FEEDS = {
    "store:raw/%(site)s/%(category)s/items/%(run_id)s-%(batch_id)05d.jsonl": {
        "format": "jsonlines",
        "encoding": "utf8",
    },
}
S2S_STALE_TEMPORARY_S = (
    3600.0  # a shared photo folder's temporary file older than this was left by a killed pod
)
S2S_LOCAL_RUNS_DIR = (
    None  # where run stats go when the store cannot take them (None: the temp folder)
)
EXTENSIONS = {
    "crawler.extensions.leftovers.Leftovers": 490,  # before RunStats writes this run's stats
    "crawler.extensions.runstats.RunStats": 500,
    "crawler.extensions.progress.Progress": 510,
}

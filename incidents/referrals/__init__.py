"""The referral partners' pages: their desk's referrals, and answering one."""

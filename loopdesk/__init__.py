"""LoopDesk: the closed-loop (闭环) complaint and customer-service platform of a mobile operator."""
